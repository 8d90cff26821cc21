"""What a creature heard: whole in its prompt, numbered, and passed on whole by number.

Covers `heard_items` (order, the gossip budget, folding repeats), the talk
lines of `user_prompt`, `say all: N` in the grammar and the parser, and
that nothing in a prompt tells a true tip from a free rumour.
"""

from __future__ import annotations

import re

import pytest
from wood_obs import grammar_regex, make_obs

from woodmarket.backends.fake import FunctionBackend
from woodmarket.policies.grammar import GRAMMAR_TEXT_CHARS, grammar_for
from woodmarket.policies.llm import LLMPolicy, system_prompt, user_prompt
from woodmarket.policies.parse import parse
from woodmarket.policies.talk import GOSSIP_HEARD_CHARS, Heard, heard_items
from woodmarket.types import CompletionRequest, Gossip

WHISPER = (
    'the financier whispers: "Oona has promised honey to more creatures than her vault can '
    "pay at once, and the bees have not filled a comb since the frost; when the first "
    "creature asks for its honey back the rest will follow, and the price will fall by "
    'half before the moon turns."'
)
RUMOUR = (
    "Word spreads that Oona's honey vault is half empty and every creature wants its honey "
    "out first, before the badgers come down from the hill to claim what is left."
)
HEARD = ("Pip: berries are scarce", "Birch: the river froze", "Rusk: honey will fall by half")


def busy(**kw):
    fields = {"whispers": (WHISPER,), "news": (RUMOUR,), "heard": HEARD} | kw
    return make_obs("Mossback", **fields)


def test_every_whisper_and_rumour_reaches_the_prompt_whole_and_numbered() -> None:
    assert len(WHISPER) > 240 and len(RUMOUR) > 150
    text = user_prompt(busy())
    assert WHISPER in text and RUMOUR in text
    assert text.splitlines()[-5:] == [
        f"1. Whisper: {WHISPER}",
        f"2. News: {RUMOUR}",
        "3. Pip: berries are scarce",
        "4. Birch: the river froze",
        "5. Rusk: honey will fall by half",
    ]
    # Static part first, facts last: the whisper never enters the cached prefix.
    assert WHISPER not in system_prompt(busy())
    assert system_prompt(busy()) == system_prompt(make_obs("Mossback"))


def test_the_gossip_budget_drops_whole_items_oldest_first() -> None:
    line = "x" * 150  # "Name: " + 150 characters: two fit in the budget, three do not
    heard = tuple(f"{n}: {line} {n}" for n in ("Oona", "Birch", "Pip", "Rusk"))
    items = heard_items(make_obs("Mossback", heard=heard))
    assert [i.label for i in items] == ["Pip", "Rusk"]  # the freshest two, whole
    assert all(i.text == f"{line} {i.label}" for i in items)
    assert sum(len(i.label) + 2 + len(i.text) for i in items) <= GOSSIP_HEARD_CHARS
    # Whispers and news are never budgeted, and never push gossip out.
    loud = heard_items(make_obs("Mossback", heard=heard, whispers=(WHISPER,), news=(RUMOUR,)))
    assert [i.label for i in loud] == ["Whisper", "News", "Pip", "Rusk"]
    # The freshest item is shown whole even past the budget.
    huge = f"Pip: {'y' * (GOSSIP_HEARD_CHARS + 50)}"
    (only,) = heard_items(make_obs("Mossback", heard=("Birch: hi", huge)))
    assert only == Heard("Pip", "y" * (GOSSIP_HEARD_CHARS + 50))


def test_repeated_gossip_is_read_once_with_who_said_it() -> None:
    obs = make_obs(
        "Oona",
        news=(RUMOUR,),
        heard=(
            f"Pip: {RUMOUR}",
            "Pip: honey is scarce",
            "Rusk: honey is scarce",
            f"Rusk: {RUMOUR}",
        ),
    )
    assert heard_items(obs) == (
        Heard("News (also Pip, Rusk)", RUMOUR),
        Heard("Pip, Rusk", "honey is scarce"),
    )
    assert user_prompt(obs).count(RUMOUR) == 1


def test_say_all_n_passes_on_the_whole_item_without_its_speaker() -> None:
    obs = busy()
    assert parse("hold\nsay all: 1", obs).gossip == Gossip("all", WHISPER)
    assert parse("hold\nsay Pip: 2", obs).gossip == Gossip("Pip", RUMOUR)
    assert parse("hold\nsay all: 5", obs).gossip == Gossip("all", "honey will fall by half")
    assert parse("hold\nsay all: #3", obs).gossip == Gossip("all", "berries are scarce")
    missing = parse("sell 1 acorns 4\nsay all: 6", obs)
    assert missing.gossip is None and missing.valid
    assert missing.reason == "line 2: gossip passes on item 6, but 5 heard"
    far = parse("sell 1 acorns 4\nsay all: " + "9" * 5000, obs)
    assert far.gossip is None and "gossip passes on item 999999999999999999999..." in far.reason
    # Same observation and reply, same action: a replay reads it the same.
    assert parse("hold\nsay all: 2", busy()) == parse("hold\nsay all: 2", busy())


def test_the_grammar_admits_a_reference_and_bounds_free_gossip() -> None:
    obs = busy()
    phrases = re.compile(grammar_regex(grammar_for(obs, 2, talk="phrases", thoughts=False)))
    assert phrases.fullmatch("hold\nsay all: 1") and phrases.fullmatch("hold\nsay Pip: 5")
    assert not phrases.fullmatch("hold\nsay all: 6") and not phrases.fullmatch("hold\nsay all: 0")
    free = re.compile(grammar_regex(grammar_for(obs, 2, talk="free", thoughts=False)))
    assert free.fullmatch("hold\nsay all: 1")
    assert free.fullmatch("hold\nsay all: " + "a" * GRAMMAR_TEXT_CHARS)
    assert not free.fullmatch("hold\nsay all: " + "a" * (GRAMMAR_TEXT_CHARS + 1))
    assert not free.fullmatch(f"hold\nsay all: {RUMOUR}")  # whole words only by number


def test_a_whisper_reads_the_same_whatever_its_truth() -> None:
    # The financier's label is the same for a tip and a free rumour; the
    # prompt adds nothing of its own that could tell them apart.
    tip = make_obs("Oona", whispers=("the financier whispers: honey will fall",))
    rumour = make_obs("Oona", whispers=("the financier whispers: acorns will fall",))
    a, b = user_prompt(tip).splitlines(), user_prompt(rumour).splitlines()
    assert a[:-1] == b[:-1]
    assert a[-1] == "1. Whisper: the financier whispers: honey will fall"
    assert b[-1] == "1. Whisper: the financier whispers: acorns will fall"


def test_the_policy_forwards_by_number_and_the_trace_keeps_the_number() -> None:
    backend = FunctionBackend(lambda r: "sell 2 acorns 4\nsay all: 2")
    pol = LLMPolicy(backend, "tiny", "fake")
    action = pol.decide(busy())
    assert action.gossip == Gossip("all", RUMOUR) and action.valid
    assert action.call is not None and action.call.response == "sell 2 acorns 4\nsay all: 2"
    (request,) = backend.requests
    assert "ref ::= [1-5]" in (request.grammar or "")


@pytest.mark.models
@pytest.mark.parametrize("model", ["smollm2", "gemma3"])
def test_llama_cpp_accepts_the_reference_grammar_and_keeps_to_it(model: str) -> None:
    from woodmarket.backends.embedded import EmbeddedBackend

    obs = busy()
    backend = EmbeddedBackend(model, n_parallel=1, n_ctx=1024)
    try:
        for talk in ("phrases", "free"):
            grammar = grammar_for(obs, 2, orders=1, talk=talk, thoughts=False)
            request = CompletionRequest(
                system_prompt(obs), user_prompt(obs), grammar=grammar, max_tokens=64, slot=0
            )
            text = backend.complete(request).text
            assert re.fullmatch(grammar_regex(grammar), text), (talk, text)
            assert parse(text, obs).reason == "", text
    finally:
        backend.close()
