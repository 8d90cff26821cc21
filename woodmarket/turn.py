"""The turn: a short list of phases, each a plain function over the wood.

    events -> observe -> decide -> clear -> live -> settle -> narrate -> record

Seams (`before_decide`, `after_clear`, `settle`) run registered handlers
at their named points; legend effects and the financier (its queued
commands, its book) attach there. Tracing and UIs attach as listeners that
the record phase calls with the finished `TurnState`, never inline. The
turn's state and the seams live in state.py; this room holds the phases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from woodmarket.living import LIVING
from woodmarket.market import Rejection, admit_all, call_auction
from woodmarket.narrator import headline
from woodmarket.rules import band
from woodmarket.state import TurnState, WoodState
from woodmarket.types import Action, Observation, Order

NEWS_TURNS = 2  # news stays on creatures' minds this many turns
HISTORY = 8  # reference prices a creature sees, oldest first
# Grace past the longest policy deadline before the turn stops waiting.
DEADLINE_GRACE_S = 0.25


def events(wood: WoodState, t: TurnState) -> None:
    wood.memory.deliver()
    t.opening = dict(wood.prices)
    wood.seams.run("before_decide", wood, t)


def observe(wood: WoodState, t: TurnState) -> None:
    public = Public.now(wood, t.turn)
    t.observations = {n: observation(wood, n, t.turn, public) for n in wood.names}


@dataclass(frozen=True, slots=True)
class Public:
    """The facts every creature sees alike this turn, built once and shared read-only."""

    prices: Mapping[str, int]
    history: Mapping[str, tuple[int, ...]]
    bands: Mapping[str, tuple[int, int]]
    news: tuple[str, ...]
    headlines: tuple[str, ...]
    burn: int

    @classmethod
    def now(cls, wood: WoodState, turn: int) -> Public:
        width = wood.scenario.market.band
        return cls(
            prices=MappingProxyType(dict(wood.prices)),
            history=MappingProxyType({g: tuple(h[-HISTORY:]) for g, h in wood.history.items()}),
            bands=MappingProxyType({g: band(p, width) for g, p in wood.prices.items()}),
            news=tuple(text for when, text in wood.news if turn - when < NEWS_TURNS),
            headlines=tuple(wood.headlines[-2:]),
            burn=wood.burn(turn),
        )


def observation(wood: WoodState, name: str, turn: int, public: Public | None = None) -> Observation:
    """What `name` may know now: its own state and public facts only."""
    public = public or Public.now(wood, turn)
    c = wood.creatures[name]
    rules = wood.scenario.market
    mem = wood.memory
    wants = wood.wants(c, turn)
    allies = wood.allies(name)
    heard = tuple(mem.heard.get(name, ()))
    if allies and heard:
        heard = _allies_first(heard, allies)
    return Observation(
        turn=turn,
        creature=name,
        species=c.spec.species,
        role=c.spec.role,
        personality=c.spec.personality,
        produces=wood.makes[name],
        pebbles=c.account.pebbles,
        stores=MappingProxyType(dict(c.account.stores)),
        goods=wood.goods,
        foods=wood.foods,
        fuel=wood.fuel,
        burn=public.burn,
        wants=MappingProxyType(wants),
        short_of=MappingProxyType(wood.short_of(c, turn, wants)),
        mood=c.mood,
        prices=public.prices,
        history=public.history,
        news=public.news,
        headlines=public.headlines,
        heard=heard,
        whispers=tuple(mem.whispers.get(name, ())),
        feelings=mem.summary(name),
        others=wood.others(name),
        max_orders=rules.max_orders,
        max_qty=rules.max_qty,
        bands=public.bands,
        offers=wood.offers.get(name, ()),
        debts=wood.debts.get(name, ()),
        allies=allies,
    )


def _allies_first(heard: tuple[str, ...], allies: tuple[str, ...]) -> tuple[str, ...]:
    """Gossip heard, allies' lines first (each line reads `speaker: text`), order kept within."""
    mine = tuple(line for line in heard if line.split(":", 1)[0] in allies)
    return mine + tuple(line for line in heard if line not in mine)


def _ask(wood: WoodState, name: str, obs: Observation) -> Action:
    try:
        action = wood.policies[name].decide(obs)
    except Exception as exc:  # a policy bug must not stop the wood; it is traced
        return Action.hold(f"policy error: {type(exc).__name__}: {exc}")
    if not isinstance(action, Action):
        return Action.hold(f"policy error: decide returned {type(action).__name__}, not an Action")
    return action


def _own(name: str, action: Action) -> Action:
    """An action, from a policy or from outside, may only place its creature's orders."""
    strays = [o for o in action.orders if o.creature != name]
    if strays:
        return Action.hold(
            f"orders placed for another creature ({strays[0].creature})", action.call
        )
    return action


def _deadline(wood: WoodState, names: list[str]) -> float | None:
    """When the turn stops waiting for its concurrent policies (None: it waits)."""
    budgets = [getattr(wood.policies[n], "timeout_s", None) for n in names]
    if not names or any(b is None for b in budgets):
        return None
    return time.monotonic() + max(b for b in budgets if b is not None) + DEADLINE_GRACE_S


def _collect(name: str, future: Future[Action], deadline: float | None) -> Action:
    """A concurrent decision, or a hold once the deadline passed.

    A call that cannot be cancelled is abandoned: it finishes in its own
    thread, its result is ignored, and its model slot is free when it returns.
    """
    left = None if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        return future.result(timeout=left)
    except TimeoutError:
        future.cancel()
        return Action.hold(f"no decision within the deadline; {name}'s call was abandoned")


def _tell(watch: Callable[[str], None], name: str) -> Callable[[Future[Action]], None]:
    def done(_: Future[Action]) -> None:
        watch(name)

    return done


def _together(policy: Any, serial: bool) -> bool:
    if not getattr(policy, "concurrent", False):
        return False
    return not serial or getattr(policy, "batch_invariant", False) is True


def decide(wood: WoodState, t: TurnState) -> None:
    names = wood.names
    asked = [n for n in names if n not in t.overrides]
    # A reproducible (serial) run still asks together the creatures whose model
    # answers a batch bit for bit as it answers alone.
    parallel = [n for n in asked if _together(wood.policies[n], wood.serial)]
    futures = {}
    watchers = wood.on_decided
    if parallel:
        pool = wood.decision_pool()
        futures = {n: pool.submit(_ask, wood, n, t.observations[n]) for n in parallel}
        for n, future in futures.items():
            for watch in watchers:
                future.add_done_callback(_tell(watch, n))
    deadline = _deadline(wood, parallel)
    # Ordered by creature, never by completion: runs must not depend on timing.
    for n in names:
        if n in t.overrides:
            t.actions[n] = t.overrides[n]
        elif n in futures:
            t.actions[n] = _collect(n, futures[n], deadline)
        else:
            t.actions[n] = _ask(wood, n, t.observations[n])
            for watch in watchers:
                watch(n)
    for n in names:
        a = t.actions[n] = _own(n, t.actions[n])
        label = "external" if n in t.overrides else getattr(wood.policies[n], "label", "policy")
        t.emit("decision", creature=n, policy=label, **decision_fields(a))
        g = a.gossip
        if g is not None and (g.to == "all" or (g.to in wood.creatures and g.to != n)):
            heard_by = wood.memory.say(n, g)
            # A pact: the speaker's allies hear its gossip too, whoever it was meant for.
            for ally in wood.allies(n):
                if ally not in heard_by:
                    wood.memory.pending.setdefault(ally, []).append(f"{n}: {g.text}")
                    heard_by.append(ally)
            t.emit("gossip", creature=n, to=g.to, text=g.text, listeners=heard_by)


def decision_fields(a: Action) -> dict[str, Any]:
    """An action as trace fields: the original dataset's columns plus ours."""
    out: dict[str, Any] = {
        "valid": a.valid,
        "reason": a.reason,
        "offers": [o.to_dict() for o in a.orders],
        "gossip": None if a.gossip is None else {"to": a.gossip.to, "text": a.gossip.text},
        "thought": a.thought,
    }
    if a.call is not None:
        out["call"] = a.call.to_dict()
    if a.answers:
        out["answers"] = [x.to_dict() for x in a.answers]
    return out


def clear(wood: WoodState, t: TurnState) -> None:
    orders = [o for n in wood.names for o in t.actions[n].orders] + wood.outside_orders
    wood.outside_orders = []
    reasons = admit_all(
        orders,
        goods=wood.goods,
        references=wood.prices,
        holdings=wood.ledger.accounts,
        limits=wood.scenario.market,
    )
    for o, reason in zip(orders, reasons, strict=True):
        if reason:
            t.rejected.append(Rejection(o, reason))
        else:
            t.accepted.append(o)
        t.emit(
            "order",
            creature=o.creature,
            side=o.side,
            good=o.good,
            qty=o.qty,
            price=o.price,
            status="rejected" if reason else "accepted",
            reason=reason,
        )
    by_good: dict[str, list[Order]] = {g: [] for g in wood.goods}
    for o in t.accepted:
        by_good[o.good].append(o)
    ledger, memory = wood.ledger, wood.memory
    for g in wood.goods:
        last = wood.prices[g]
        result = call_auction(g, by_good[g], last, wood.rng("market", g), wood.pacts)
        t.clearings[g] = result
        for f in result.fills:
            ledger.pay(f.buyer, f.seller, f.price * f.qty)
            ledger.move(f.seller, f.buyer, g, f.qty)
            t.emit("fill", good=g, price=f.price, qty=f.qty, buyer=f.buyer, seller=f.seller)
            # A trade against a creature sours it on its counterparty.
            memory.feel(f.buyer, f.seller, -3 if f.price > last else 1)
            memory.feel(f.seller, f.buyer, -3 if f.price < last else 1)
        wood.prices[g] = result.reference
    wood.seams.run("after_clear", wood, t)


def live(wood: WoodState, t: TurnState) -> None:
    for phase in LIVING:
        phase(wood, t)


def settle(wood: WoodState, t: TurnState) -> None:
    wood.seams.run("settle", wood, t)


def narrate(wood: WoodState, t: TurnState) -> None:
    # The template, unless the wood has a narrator of its own (a model, a replay's record).
    t.headline = (wood.narrator or headline)(wood, t)
    wood.headlines.append(t.headline)
    t.emit("headline", text=t.headline)


def record(wood: WoodState, t: TurnState) -> None:
    wood.ledger.check(t.turn)
    for g in wood.goods:
        c = t.clearings[g]
        wood.history[g].append(wood.prices[g])
        t.emit(
            "price",
            good=g,
            reference=wood.prices[g],
            traded=c.traded,
            clearing=c.price,
            volume=c.volume,
            demand=c.demand,
            supply=c.supply,
        )
    t.emit("holdings", holders=wood.holdings())
    wood.turn = t.turn
    for listener in wood.listeners:
        listener(t)


PHASES = (events, observe, decide, clear, live, settle, narrate, record)
_DECIDE = PHASES.index(decide)


def begin_turn(wood: WoodState) -> TurnState:
    """The coming turn up to the moment its creatures decide (events, observe).

    For callers whose agents decide outside the wood (the PettingZoo
    environment): they read `t.observations`, then `finish_turn`.
    """
    t = TurnState(turn=wood.turn + 1)
    for phase in PHASES[:_DECIDE]:
        phase(wood, t)
    return t


def finish_turn(
    wood: WoodState, t: TurnState, overrides: Mapping[str, Action] | None = None
) -> TurnState:
    """The rest of a begun turn: `overrides` decide for the creatures they name."""
    t.overrides = dict(overrides or {})
    for phase in PHASES[_DECIDE:]:
        phase(wood, t)
    return t


def run_turn(wood: WoodState, overrides: Mapping[str, Action] | None = None) -> TurnState:
    return finish_turn(wood, begin_turn(wood), overrides)
