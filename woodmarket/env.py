"""The PettingZoo room: creatures of a wood as agents of a `ParallelEnv`.

    from woodmarket.env import parallel_env
    env = parallel_env(scenario="oona", agents=["Pip"])   # the rest keep their cast
    obs, infos = env.reset(seed=0, options={"gambit": "showcase"})
    obs, rewards, terminations, truncations, infos = env.step({"Pip": action})

Everything here is read off the scenario (its goods, creatures and market
rules), never off the names of a bundled wood. docs/api.md documents the
spaces; in short:

- Agents are the creatures the user controls (default all), by name. The
  others keep their cast's policy (stand-in, models, a recorded run).
- Observation: `Dict(observation=Box, [text=Talk])`. `observation` is the
  numeric state, whole numbers as float32, named by `feature_names`: the
  creature's own state first (turn, pebbles, mood, stores, wants, ...),
  then the public facts (reference prices, bands, a short history). `text`
  (with `text=True`) is what the creature hears, whole: whispers, news,
  gossip, headlines, feelings.
- Action: `MultiDiscrete([3, G, Q, N] * K)`: K = `max_orders` order slots,
  each (kind: 0 none / 1 buy / 2 sell, good index, quantity - 1, price
  index), the price index k meaning `reference - down + k`. `down` and
  `N` come from `max_reference`: every price of every band is expressible
  while each reference is at most `max_reference`. All zeros holds. An
  action that breaks the order rules (rules.py) or lies outside the space
  becomes a traced `hold`, its reason in `infos[agent]["reason"]`. An
  `Action` value (orders, gossip, thought) is accepted too, checked alike.
- Reward: the change in the creature's wealth (pebbles plus stores at
  reference prices) from the end of one turn to the end of the next;
  `reward="mood"`: the change in its mood.
- Truncation at the scenario's last turn (or `turns`); termination only
  for a creature exiled (a loan it could not repay, its stores seized).

The turn is split where external agents decide: after a step the next
turn's `events` and `observe` phases run at once, so an agent sees what
its creature would see when deciding (this turn's whispers and rumours),
and its orders then go through the real `decide`, `clear`, ... phases.
This room builds each episode's wood with the one builder (`build.build`,
from a spec whose scenario text is parsed once per process), may attach a
financier with scheduled moves (`reset(options=...)`), and runs the turn's
phases of `turn.py` in that order; it changes no state of a wood itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

try:
    import gymnasium
    import numpy as np
    from pettingzoo import ParallelEnv
    from pettingzoo.utils.conversions import parallel_to_aec
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        f"woodmarket.env needs the env extra: pip install 'woodmarket[env]' (missing {exc.name})"
    ) from exc

from woodmarket.build import build
from woodmarket.commands import parse_command
from woodmarket.errors import ActionError, WoodmarketError
from woodmarket.financier import Financier
from woodmarket.financier.whispers import legends_of
from woodmarket.fork import open_fork, parent_of, plan_fork
from woodmarket.rules import Admission, band
from woodmarket.scenario import Scenario, load_scenario
from woodmarket.spec import RunSpec
from woodmarket.state import TurnState
from woodmarket.turn import HISTORY, begin_turn, finish_turn
from woodmarket.types import Action, Observation, Order
from woodmarket.wood import Wood

__all__ = ["HISTORY", "KINDS", "REWARDS", "Talk", "WoodEnv", "env", "parallel_env"]

KINDS = ("none", "buy", "sell")  # an order slot's first component
REWARDS = ("wealth", "mood")
# Whole numbers up to 2**24 are exact in float32; the Box is bounded there.
CAP = float(2**24)
# Decoded orders kept for reuse (a learner repeats itself); cleared when full.
ORDER_CACHE = 65536
# A bound on the text's length, not a cut: talk is delivered whole.
TEXT_CHARS = 1 << 20


class Talk(gymnasium.spaces.Text):
    """Any Unicode text of at most `max_length` characters (whispers, news, gossip).

    Creatures' words are free text, so membership admits every character;
    `sample()` draws from printable ASCII only. Not flattenable: leave
    `text` off for learners that need flat vectors.
    """

    def __init__(self, max_length: int = TEXT_CHARS) -> None:
        printable = "".join(chr(c) for c in range(32, 127)) + "\n"
        super().__init__(max_length, min_length=0, charset=printable)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"Talk(0, {self.max_length})"


def talk(obs: Observation) -> str:
    """What a creature hears this turn, one item a line, every item whole."""
    lines = [f"Whisper: {w}" for w in obs.whispers]
    lines += [f"News: {n}" for n in obs.news]
    lines += [f"Heard: {h}" for h in obs.heard]
    lines += [f"Headline: {h}" for h in obs.headlines]
    if obs.feelings:
        lines.append(f"Feelings: {obs.feelings}")
    return "\n".join(lines)


class Encoding:
    """A scenario's action and observation layouts: spaces, encode, decode."""

    def __init__(self, scenario: Scenario, turns: int, max_reference: int | None = None) -> None:
        rules = scenario.market
        self.goods = scenario.good_names
        self.turns = turns
        self.slots = rules.max_orders
        self.max_qty = rules.max_qty
        self.width = rules.band
        if max_reference is None:
            richest = max(c.pebbles for c in scenario.creatures)
            dearest = max(g.price for g in scenario.goods)
            max_reference = max(richest, dearest * rules.band)
        if isinstance(max_reference, bool) or not isinstance(max_reference, int):
            raise WoodmarketError(f"max_reference must be a whole number, got {max_reference!r}")
        if max_reference < 1:
            raise WoodmarketError(f"max_reference must be >= 1, got {max_reference}")
        self.max_reference = max_reference
        r = self.max_reference
        self.down = r - band(r, self.width)[0]  # steps below the reference
        self.up = band(r, self.width)[1] - r  # steps above it
        self.levels = self.down + self.up + 1
        self.nvec = np.array(
            [len(KINDS), len(self.goods), self.max_qty, self.levels] * self.slots, dtype=np.int64
        )
        self._limits = [int(n) for n in self.nvec]
        self._orders: dict[tuple[str, int, int, int, int, int], Order] = {}
        self.made = {c.name: [c.produces.get(g, 0) for g in self.goods] for c in scenario.creatures}
        g = self.goods
        own = ["turn", "turns", "pebbles", "mood", "burn", "wealth"]
        for part in ("stores", "wants", "short_of", "produces"):
            own += [f"{part}.{x}" for x in g]
        public = [f"price.{x}" for x in g]
        public += [f"band_low.{x}" for x in g] + [f"band_high.{x}" for x in g]
        public += [f"history.{x}.{i}" for x in g for i in range(HISTORY)]
        self.feature_names = tuple(own + public)
        self.n_own = len(own)

    # -- spaces ----------------------------------------------------------

    def action_space(self) -> gymnasium.spaces.MultiDiscrete:
        return gymnasium.spaces.MultiDiscrete(self.nvec)

    def observation_space(self, text: bool) -> gymnasium.spaces.Dict:
        n = len(self.feature_names)
        parts: dict[str, gymnasium.spaces.Space[Any]] = {
            "observation": gymnasium.spaces.Box(0.0, CAP, shape=(n,), dtype=np.float32)
        }
        if text:
            parts["text"] = Talk()
        return gymnasium.spaces.Dict(parts)

    # -- observations ------------------------------------------------------

    def public(self, obs: Observation) -> list[int]:
        """The facts every creature sees alike (built once a turn)."""
        goods, prices, bands, history = self.goods, obs.prices, obs.bands, obs.history
        out = [prices[g] for g in goods]
        out += [bands[g][0] for g in goods] + [bands[g][1] for g in goods]
        for g in goods:
            h = history[g][-HISTORY:]
            out += [h[0]] * (HISTORY - len(h)) + list(h)
        if max(out) > CAP:  # never in a sane wood, but the Box is bounded
            out = [min(x, int(CAP)) for x in out]
        return out

    def own(self, obs: Observation) -> list[int]:
        """The creature's own figures, in `feature_names` order."""
        goods, stores, prices = self.goods, obs.stores, obs.prices
        held = [stores[g] for g in goods]
        wealth = obs.pebbles + sum(n * prices[g] for n, g in zip(held, goods, strict=True))
        v = [obs.turn, self.turns, obs.pebbles, obs.mood, obs.burn, wealth, *held]
        wants, short = obs.wants, obs.short_of
        v += [wants.get(g, 0) for g in goods]
        v += [short.get(g, 0) for g in goods]
        v += self.made[obs.creature]
        if wealth > CAP:  # never in a sane wood, but the Box is bounded; wealth bounds the rest
            v = [min(x, int(CAP)) for x in v]
        return v

    def features(self, seen: Sequence[Observation]) -> np.ndarray:
        """The numeric observations of creatures of one turn, one row each (rows don't overlap)."""
        public = self.public(seen[0])
        if len(seen) < 3:  # one conversion is cheaper for a few rows, two for many
            return np.array([self.own(o) + public for o in seen], dtype=np.float32)
        own = np.array([self.own(o) for o in seen], dtype=np.float32)
        out = np.empty((len(seen), self.n_own + len(public)), dtype=np.float32)
        out[:, : self.n_own] = own
        out[:, self.n_own :] = np.array(public, dtype=np.float32)
        return out

    # -- actions -----------------------------------------------------------

    def encode(self, orders: Iterable[Order], prices: Mapping[str, int]) -> np.ndarray:
        """Orders as a point of the action space; ActionError if one cannot be expressed."""
        out: list[int] = []
        for o in orders:
            if len(out) == 4 * self.slots:
                raise ActionError(f"at most {self.slots} orders a turn")
            if o.good not in self.goods:
                raise ActionError(f"unknown good {o.good!r}; goods are {', '.join(self.goods)}")
            if o.qty > self.max_qty:
                raise ActionError(f"quantity {o.qty} above the limit of {self.max_qty}")
            ref = prices[o.good]
            k = o.price - ref + self.down
            if not 0 <= k < self.levels:
                raise ActionError(
                    f"price {o.price} for {o.good} cannot be expressed: with the reference at "
                    f"{ref}, prices {max(1, ref - self.down)}..{ref + self.up} can "
                    f"(raise max_reference)"
                )
            out += (KINDS.index(o.side), self.goods.index(o.good), o.qty - 1, k)
        out += [0] * (len(self._limits) - len(out))
        return np.array(out, dtype=np.int64)

    def decode(
        self, creature: str, action: Any, prices: Mapping[str, int]
    ) -> tuple[tuple[Order, ...], list[int], str]:
        """The orders a point of the space stands for and their slots, or why there are none."""
        limits = self._limits
        if isinstance(action, np.ndarray):
            arr = action
        else:
            try:
                arr = np.asarray(action)
            except (TypeError, ValueError) as exc:
                return (), [], f"action outside the action space: {exc}"
        if arr.shape != (len(limits),) or arr.dtype.kind not in "iu":
            return (), [], self._outside(f"got shape {arr.shape} of {arr.dtype}")
        values = arr.tolist()
        for i, v in enumerate(values):
            if v < 0 or v >= limits[i]:
                return (), [], self._outside(f"component {i} is {v}, not 0..{limits[i] - 1}")
        orders, slots = [], []
        goods, down, made = self.goods, self.down, self._orders
        for s in range(0, len(values), 4):
            kind, g, q, k = values[s : s + 4]
            if kind:
                good = goods[g]
                price = prices[good] - down + k
                if price < 1:
                    return (), [], f"slot {s // 4}: price {price} for {good} is below 1"
                # Orders are frozen values: one per (creature, slot, order) is built once.
                key = (creature, s, kind, g, q, price)
                order = made.get(key)
                if order is None:
                    if len(made) >= ORDER_CACHE:
                        made.clear()
                    order = made[key] = Order(creature, KINDS[kind], good, q + 1, price)
                orders.append(order)
                slots.append(s // 4)
        return tuple(orders), slots, ""

    def _outside(self, what: str) -> str:
        n = len(self._limits)
        return (
            f"action outside the action space: expected {n} whole numbers "
            f"(MultiDiscrete {self._limits}), {what}"
        )


def order_set_problem(
    orders: Sequence[Order],
    creature: str,
    admission: Admission,
    slots: Sequence[int] | None = None,
) -> str:
    """Why `orders` cannot all be placed by `creature` (rules.py); "" when they can.

    `admission` is the turn's, over the wood's holdings and references; the
    orders it admits are reserved in it (and in nothing else).
    """
    for i, o in enumerate(orders):
        where = f"slot {slots[i]}" if slots is not None else f"order {i + 1}"
        if o.creature != creature:
            return f"{where}: an order placed for another creature ({o.creature})"
        reason = admission.admit(o)
        if reason:
            return f"{where} ({o.side} {o.qty} {o.good} at {o.price}): {reason}"
    return ""


class WoodEnv(ParallelEnv[str, dict[str, Any], Any]):
    """A wood whose chosen creatures are PettingZoo agents. Build it with `parallel_env`."""

    metadata: dict[str, Any] = {  # noqa: RUF012 - PettingZoo's class attribute
        "name": "woodmarket_v0",
        "render_modes": ["ansi"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        scenario: str | Scenario = "oona",
        *,
        agents: Iterable[str] | None = None,
        cast: str = "standin",
        seed: int | None = None,
        turns: int | None = None,
        gambit: str | None = None,
        mechanism: str | None = None,
        reward: str = "wealth",
        text: bool = False,
        max_reference: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        names = tuple(c.name for c in self.scenario.creatures)
        if isinstance(agents, str):
            agents = [agents]
        chosen = names if agents is None else tuple(agents)
        unknown = [a for a in chosen if a not in names]
        if unknown:
            raise WoodmarketError(
                f"unknown creature {unknown[0]!r}; creatures are {', '.join(names)}"
            )
        if not chosen:
            raise WoodmarketError("an environment needs at least one creature to control")
        if reward not in REWARDS:
            raise WoodmarketError(f"unknown reward {reward!r}; use {', '.join(REWARDS)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise WoodmarketError(f"unknown render_mode {render_mode!r}; use ansi or None")
        self.possible_agents = [n for n in names if n in chosen]
        self.agents: list[str] = []
        turns = self.scenario.turns if turns is None else turns
        if isinstance(turns, bool) or not isinstance(turns, int) or turns < 1:
            raise WoodmarketError(f"turns must be a whole number >= 1, got {turns!r}")
        self.turns = turns
        self.reward = reward
        self.text = text
        self.render_mode = render_mode
        self.encoding = Encoding(self.scenario, self.turns, max_reference)
        self.feature_names = self.encoding.feature_names
        # Checks the cast now, once.
        self._spec = RunSpec.make(self.scenario, cast=cast, seed=0, turns=self.turns)
        self.gambit, self.mechanism = gambit, mechanism
        self._check_gambit(gambit, mechanism)
        if seed is not None:
            self._whole_seed(seed)
        self._seed = seed
        self._seeder: np.random.Generator | None = None
        # One space object per agent, so each agent's sampling can be seeded apart.
        self._observation_spaces = {
            a: self.encoding.observation_space(text) for a in self.possible_agents
        }
        self._action_spaces = {a: self.encoding.action_space() for a in self.possible_agents}
        self.wood: Wood | None = None
        self.last_turn: TurnState | None = None  # the turn the last step played
        self._turn: TurnState | None = None  # the turn begun, waiting for actions
        self._before: dict[str, int] = {}

    # -- spaces ------------------------------------------------------------

    def observation_space(self, agent: str) -> gymnasium.spaces.Space[Any]:
        try:
            return self._observation_spaces[agent]
        except KeyError:
            raise self._unknown(agent) from None

    def action_space(self, agent: str) -> gymnasium.spaces.Space[Any]:
        try:
            return self._action_spaces[agent]
        except KeyError:
            raise self._unknown(agent) from None

    def _unknown(self, agent: object) -> ActionError:
        return ActionError(f"unknown agent {agent!r}; agents are {', '.join(self.possible_agents)}")

    # -- helpers for agents --------------------------------------------------

    def creature_observation(self, agent: str) -> Observation:
        """The creature's full `Observation` now (what a woodmarket policy would get)."""
        if agent not in self._action_spaces:
            raise self._unknown(agent)
        if self._turn is not None:
            return self._turn.observations[agent]
        return self._the_wood().observe(agent)

    def encode(self, agent: str, orders: Action | Iterable[Order]) -> np.ndarray:
        """An `Action`'s orders (or a list of orders) as a point of `agent`'s action space."""
        if agent not in self._action_spaces:
            raise self._unknown(agent)
        if isinstance(orders, Action):
            orders = orders.orders
        return self.encoding.encode(orders, self._the_wood().prices)

    def decode(self, agent: str, action: Any) -> Action:
        """The `Action` a step would play for `action`: its orders, or a hold with the reason."""
        if agent not in self._action_spaces:
            raise self._unknown(agent)
        return self._decide(agent, action, self._admission(self._the_wood()))

    @staticmethod
    def _admission(wood: Wood) -> Admission:
        return Admission(wood.goods, wood.prices, wood.ledger.accounts, wood.scenario.market)

    def _decide(self, agent: str, action: Any, admission: Admission) -> Action:
        if action is None:
            return Action.hold()
        if isinstance(action, Action):
            problem = order_set_problem(action.orders, agent, admission)
            return Action.hold(problem) if problem else action
        orders, slots, problem = self.encoding.decode(agent, action, admission.references)
        if not problem:
            problem = order_set_problem(orders, agent, admission, slots)
        return Action.hold(problem) if problem else Action(orders=orders)

    def _the_wood(self) -> Wood:
        if self.wood is None:
            raise WoodmarketError("call reset() before using the environment")
        return self.wood

    # -- the PettingZoo API -------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """A new wood. `options` may hold `gambit`, `mechanism`, `legends`, `moves` and `fork`.

        `legends` and `moves` map a turn to legend ids to spring or financier
        commands to make just before it; other keys are ignored. `fork`,
        `(run_dir, K)`, starts the episode at turn K of a recorded run: its
        turns before K rebuilt from the record and proved (`fork.open_fork`),
        the agents deciding from K, the other creatures on this
        environment's cast. A fork plays its parent's seed, so `seed` with
        `fork` is refused; `gambit` and `mechanism` likewise (the parent's
        moves go on from K).
        """
        options = dict(options or {})
        # Until this reset succeeds, there is no episode to step.
        self.agents, self._turn, self.last_turn = [], None, None
        if options.get("fork") is not None:
            return self._reset_fork(seed, options)
        gambit = options.get("gambit", self.gambit)
        mechanism = options.get("mechanism", self.mechanism)
        self._check_gambit(gambit, mechanism)
        if self.wood is not None:
            self.wood.close()
        spec = self._spec.but(
            seed=self._next_seed(seed),
            gambit=gambit or None,
            mechanism=mechanism if gambit else None,
        )
        wood = self.wood = build(spec)
        self._schedule(wood, options, None if gambit else mechanism)
        self.agents = list(self.possible_agents)
        infos = {a: self._info(wood, a, Action.hold(), []) for a in self.agents}
        self._before = {a: info[self.reward] for a, info in infos.items()}
        self._turn = self._begin(wood)
        obs = self._observations(self._turn.observations)
        return obs, infos

    def _reset_fork(
        self, seed: int | None, options: dict[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        given = options["fork"]
        if not isinstance(given, tuple | list) or len(given) != 2:
            raise WoodmarketError("options['fork'] must be (run_dir, K): a run folder and a turn")
        clash = [k for k in ("gambit", "mechanism", "legends", "moves") if options.get(k)]
        if seed is not None or clash:
            what = "seed" if seed is not None else clash[0]
            raise WoodmarketError(
                f"reset: {what} with a fork: a fork plays its parent's seed and moves"
            )
        parent = parent_of(given[0])
        if parent.spec.scenario_text != self._spec.scenario_text:
            raise WoodmarketError(f"{given[0]}: a run of another scenario than this environment's")
        spec, _ = plan_fork(parent, given[1], cast=self._spec.cast)
        if self.wood is not None:
            self.wood.close()
        wood = self.wood = open_fork(spec, None, parent).wood
        self.agents = [a for a in self.possible_agents if a in wood.creatures]
        infos = {a: self._info(wood, a, Action.hold(), []) for a in self.agents}
        self._before = {a: info[self.reward] for a, info in infos.items()}
        self._turn = self._begin(wood)
        return self._observations(self._turn.observations), infos

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, dict[str, Any]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Play one turn: each live agent's action (a missing one holds), the others' casts."""
        wood, t = self._the_wood(), self._turn
        if t is None or not self.agents:
            raise WoodmarketError("the episode is over: call reset() to start another")
        if not isinstance(actions, Mapping):
            raise ActionError(f"actions must map agents to actions, got {type(actions).__name__}")
        for a in actions:
            if a not in self._action_spaces:
                raise self._unknown(a)
        admission = self._admission(wood)
        decided = {a: self._decide(a, actions.get(a), admission) for a in self.agents}
        finish_turn(wood, t, decided)
        self.last_turn, self._turn = t, None
        fills: dict[str, list[dict[str, Any]]] = {a: [] for a in self.agents}
        for f in t.fills:
            for who, side in ((f.buyer, "buy"), (f.seller, "sell")):
                if who in fills:
                    fills[who].append(
                        {"side": side, "good": f.good, "qty": f.qty, "price": f.price}
                    )
        patron: dict[str, list[dict[str, Any]]] = {a: [] for a in self.agents}
        for r in t.records:
            if r["kind"] in PATRON_KINDS:
                for who in (r.get("creature"), *r.get("creatures", ())):
                    if who in patron:
                        patron[who].append({k: v for k, v in r.items() if k != "turn"})
        rewards, infos = {}, {}
        for a in self.agents:
            info = infos[a] = self._info(wood, a, decided[a], fills[a])
            # The financier's dealings with this creature this turn (its own, never another's).
            info["patron"] = patron[a]
            score = info[self.reward]
            rewards[a] = float(score - self._before[a])
            self._before[a] = score
        done = wood.turn >= self.turns
        # A creature exiled this turn (a loan it could not repay) leaves the episode:
        # its last observation is the one it decided on, and it is terminated.
        gone = {a for a in self.agents if a not in wood.creatures}
        staying = [a for a in self.agents if a not in gone]
        if done:
            seen = {a: wood.observe(a) for a in staying}
        else:
            self._turn = self._begin(wood)
            seen = dict(self._turn.observations)
        seen.update({a: t.observations[a] for a in gone})
        obs = self._observations(seen)
        terminations = {a: a in gone for a in self.agents}
        truncations = {a: done and a not in gone for a in self.agents}
        self.agents = [] if done else staying
        return obs, rewards, terminations, truncations, infos

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.wood is None:
            return None
        wood = self.wood
        prices = ", ".join(f"{g} {p}" for g, p in wood.prices.items())
        rows = [f"turn {wood.turn} of {self.turns}: {prices}"]
        for a in self.possible_agents:
            acct = wood.ledger.accounts[a]
            rows.append(f"  {a}: {acct.pebbles} pebbles, wealth {wood.wealth(a)}")
        return "\n".join(rows)

    def close(self) -> None:
        if self.wood is not None:
            self.wood.close()

    # -- inside ------------------------------------------------------------

    @staticmethod
    def _begin(wood: Wood) -> TurnState:
        return begin_turn(wood)

    def _observations(self, seen: Mapping[str, Observation]) -> dict[str, dict[str, Any]]:
        rows = self.encoding.features([seen[a] for a in self.agents])
        out: dict[str, dict[str, Any]] = {
            a: {"observation": row} for a, row in zip(self.agents, rows, strict=True)
        }
        if self.text:
            for a in self.agents:
                out[a]["text"] = talk(seen[a])
        return out

    @staticmethod
    def _info(
        wood: Wood, agent: str, decided: Action, fills: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The agent's figures after a turn; the reward is the change in one of them."""
        return {
            "turn": wood.turn,
            "valid": decided.valid,
            "reason": decided.reason,
            "wealth": wood.wealth(agent),
            "mood": wood.creatures[agent].mood if agent in wood.creatures else 0,
            "fills": fills,
        }

    def _next_seed(self, seed: int | None) -> int:
        """The seed given, or the next from the last one given (or the constructor's)."""
        if seed is not None:
            seed = self._whole_seed(seed)
            self._seeder = np.random.default_rng(seed)
            return seed
        if self._seeder is None:
            if self._seed is not None:
                self._seeder = np.random.default_rng(self._seed)
                return int(self._seed)
            self._seeder = np.random.default_rng()
        return int(self._seeder.integers(2**31 - 1))

    @staticmethod
    def _whole_seed(seed: object) -> int:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise WoodmarketError(f"seed must be a whole number >= 0, got {seed!r}")
        return int(seed)

    def _check_gambit(self, gambit: str | None, mechanism: str | None) -> None:
        """An unknown gambit or mechanism is refused at once (RunSpec's checks)."""
        if mechanism is not None:
            self._spec.but(mechanism=mechanism, financier=True)
        if gambit:
            self._spec.but(gambit=gambit, mechanism=mechanism).the_gambit(self.scenario)

    def _schedule(self, wood: Wood, options: Mapping[str, Any], mechanism: str | None) -> None:
        """Attach `legends` and `moves` from the reset options as financier moves by turn."""
        moves: dict[int, list[str]] = {}
        known = {lg.id: lg for lg in legends_of(wood) if lg.target in wood.goods}
        lexicon = dataclasses.replace(wood.scenario.lexicon, legend_files=True)
        for key, kind in (("legends", "spring"), ("moves", "")):
            table = options.get(key) or {}
            if not isinstance(table, Mapping):
                raise WoodmarketError(f"options[{key!r}] must map turns to {key}")
            for turn, items in table.items():
                when = self._turn_of(turn, key)
                for item in [items] if isinstance(items, str) else list(items):
                    if kind == "spring":
                        if item not in known and not str(item).endswith(".toml"):
                            raise ActionError(
                                f"unknown legend {item!r}; the legends of this wood are "
                                f"{', '.join(sorted(known)) or 'none'}"
                            )
                        if mechanism == "none":
                            continue
                        item = f"spring {item}"
                    # A typo, or a name this wood lacks, is refused now, not mid-episode.
                    parse_command(str(item)).named(lexicon)
                    moves.setdefault(when, []).append(str(item))
        if not moves:
            return
        fin = wood.financier if isinstance(wood.financier, Financier) else None
        if fin is None:
            override = None if mechanism in (None, "none") else mechanism
            fin = Financier.attach(wood, override=override, source="options")
        fin.add_script(moves, "options")

    def _turn_of(self, turn: Any, key: str) -> int:
        try:
            when = int(turn)
        except (TypeError, ValueError):
            when = 0
        if not 1 <= when <= self.turns or isinstance(turn, bool):
            raise WoodmarketError(f"options[{key!r}]: turn {turn!r} is not 1..{self.turns}")
        return when


# Records of the financier's offers, answers and rulings where a creature is the counterparty.
PATRON_KINDS = frozenset({"loan", "bribe", "pact", "exile"})


def parallel_env(scenario: str | Scenario = "oona", **kwargs: Any) -> WoodEnv:
    """The wood as a PettingZoo `ParallelEnv`; keyword arguments as `WoodEnv`'s."""
    return WoodEnv(scenario, **kwargs)


def env(scenario: str | Scenario = "oona", **kwargs: Any) -> Any:
    """The same wood as a PettingZoo AEC environment (`parallel_to_aec`)."""
    return parallel_to_aec(WoodEnv(scenario, **kwargs))
