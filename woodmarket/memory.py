"""Memory: gossip in flight, whispers, and signed sentiment between holders.

Sentiment is a whole number in [-100, 100] per ordered pair (holder ->
about), where `about` is a creature or `financier`. Observations show only
a one-line bucketed summary of the strongest feelings, never the numbers.
Gossip spoken in turn t is heard in turn t + 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from woodmarket.types import Gossip

LIMIT = 100
# Word lists are deliberately small and plain: gossip moves feelings a
# little, trades that went against a creature move them more.
_SOUR = frozenset(
    "thief cheat cheater liar lies greedy hoarder hoards hoarding sly crook bad hate "
    "scam swindle rotten traitor shady".split()
)
_SWEET = frozenset("kind honest fair good trust trusted friend generous helpful".split())
_WORD = re.compile(r"[a-z']+")

BUCKETS = ((40, "trusts"), (15, "likes"), (-14, ""), (-39, "is wary of"), (-LIMIT, "resents"))


def bucket(score: int) -> str:
    """The word a feeling shows as: trusts, likes, (nothing), is wary of, resents."""
    for floor, word in BUCKETS:
        if score >= floor:
            return word
    return "resents"


@dataclass(slots=True)
class Memory:
    names: tuple[str, ...]
    sentiment: dict[str, dict[str, int]] = field(default_factory=dict)
    pending: dict[str, list[str]] = field(default_factory=dict)
    heard: dict[str, list[str]] = field(default_factory=dict)
    whispers_pending: dict[str, list[str]] = field(default_factory=dict)
    whispers: dict[str, list[str]] = field(default_factory=dict)
    # Summaries are read every turn and change only when a feeling does.
    _summaries: dict[str, str] = field(default_factory=dict, repr=False)

    def feel(self, holder: str, about: str, delta: int) -> None:
        if holder == about or delta == 0:
            return
        self._summaries.pop(holder, None)
        row = self.sentiment.setdefault(holder, {})
        row[about] = max(-LIMIT, min(LIMIT, row.get(about, 0) + delta))

    def score(self, holder: str, about: str) -> int:
        return self.sentiment.get(holder, {}).get(about, 0)

    def summary(self, holder: str, top: int = 3) -> str:
        """One line, strongest feelings first; ties by name for determinism."""
        if top != 3:
            return self._summarise(holder, top)
        found = self._summaries.get(holder)
        if found is None:
            found = self._summaries[holder] = self._summarise(holder, top)
        return found

    def _summarise(self, holder: str, top: int) -> str:
        row = self.sentiment.get(holder)
        if not row:
            return "no strong feelings"
        strongest = sorted(row.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        parts = [f"{bucket(v)} {k}" for k, v in strongest if bucket(v)][:top]
        return "; ".join(parts) if parts else "no strong feelings"

    def say(self, speaker: str, gossip: Gossip) -> list[str]:
        """Queue a gossip line for next turn; returns who will hear it."""
        listeners = [n for n in self.names if n != speaker] if gossip.to == "all" else [gossip.to]
        line = f"{speaker}: {gossip.text}"
        words = set(_WORD.findall(gossip.text.lower()))
        mood = (1 if words & _SWEET else 0) - (2 if words & _SOUR else 0)
        mentioned = [n for n in self.names if n.lower() in words and n != speaker]
        for who in listeners:
            self.pending.setdefault(who, []).append(line)
            if gossip.to != "all":
                self.feel(who, speaker, 1)  # being confided in warms a little
            for other in mentioned:
                self.feel(who, other, 2 * mood)
        return listeners

    def whisper(self, to: str, text: str) -> None:
        self.whispers_pending.setdefault(to, []).append(text)

    def deliver(self) -> None:
        """Start of a turn: what was said last turn is now heard."""
        self.heard, self.pending = self.pending, {}
        self.whispers, self.whispers_pending = self.whispers_pending, {}
