"""A learning agent in one creature's seat: a contextual bandit against the stand-in wood.

    .venv/bin/python examples/bandit.py [--scenario oona] [--seat NAME]
                                        [--steps 3000] [--episodes 20]

The seat is an agent of `woodmarket.env.parallel_env`; every other
creature keeps the stand-in. By default it is the first creature whose
produce spoils: it must trade or watch its stock rot. (A keeper of a good
that does not spoil and that nobody else makes does best by holding: its
hoard is marked at a reference that unmet demand drifts up every turn, so
a random agent, which nearly always holds, is hard to beat there.)
The learner picks one of a few order templates each turn ("sell what you
can spare a pebble above the reference and buy what you are short of at
it", "hold", ...) from an epsilon-greedy value table per turn of the
season. After each episode every turn's choice is credited with the
environment's rewards (the change in the creature's wealth at reference
prices) from that turn to the episode's end: a tabular Monte Carlo
learner, so holding stock for a later, dearer turn can pay. After training it is evaluated
greedily on fresh seeds, beside the stand-in and a uniformly random agent
in the same seat on the same seeds, and the mean wealth change per
episode of each is printed. CPU only; a few thousand steps take seconds.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

import numpy as np

from woodmarket.env import WoodEnv, parallel_env
from woodmarket.policies.standin import StandinPolicy
from woodmarket.scenario import Scenario, load_scenario
from woodmarket.types import Action, Observation, Order

# (sell shift, buy shift) around the reference price; None leaves that side out.
ARMS = [(s, b) for s in (None, -1, 0, 1, 2, 3) for b in (None, -1, 0, 1)]
EVAL_SEEDS = 10_000  # evaluation seeds start here, apart from the training seeds


def template(obs: Observation, arm: tuple[int | None, int | None]) -> Action:
    """The orders an arm stands for in this observation (always within the rules)."""
    sell, buy = arm
    orders: list[Order] = []
    if buy is not None:
        budget = obs.pebbles
        for good, short in sorted(obs.short_of.items(), key=lambda kv: -kv[1]):
            lo, hi = obs.bands[good]
            price = min(hi, max(lo, obs.prices[good] + buy))
            qty = min(short, obs.max_qty, budget // price)
            if qty > 0:
                budget -= qty * price
                orders.append(Order(obs.creature, "buy", good, qty, price))
    if sell is not None:
        buying = {o.good for o in orders}
        spare = {
            g: obs.stores[g] - obs.wants.get(g, 0)
            for g in obs.goods
            if g not in buying and obs.stores[g] > obs.wants.get(g, 0)
        }
        for good, extra in sorted(spare.items(), key=lambda kv: -kv[1]):
            lo, hi = obs.bands[good]
            price = min(hi, max(lo, obs.prices[good] + sell))
            orders.append(Order(obs.creature, "sell", good, min(extra, obs.max_qty), price))
    return Action(orders=tuple(orders[: obs.max_orders]))


class Bandit:
    """One epsilon-greedy value table per turn: turn -> arm -> mean reward."""

    def __init__(self, turns: int, rng: random.Random, epsilon: float = 0.15) -> None:
        self.rng = rng
        self.epsilon = epsilon
        self.value = np.zeros((turns + 1, len(ARMS)))
        self.count = np.zeros((turns + 1, len(ARMS)))

    def pick(self, turn: int, explore: bool) -> int:
        if explore and (self.rng.random() < self.epsilon or not self.count[turn].any()):
            return self.rng.randrange(len(ARMS))
        return int(np.argmax(self.value[turn]))

    def learn(self, turn: int, arm: int, reward: float) -> None:
        self.count[turn, arm] += 1
        self.value[turn, arm] += (reward - self.value[turn, arm]) / self.count[turn, arm]


def default_seat(scenario: Scenario) -> str:
    """The first creature that makes a perishable good, else the first creature."""
    perishable = {g.name for g in scenario.goods if g.spoil_pct}
    for c in scenario.creatures:
        if any(n and g in perishable for g, n in c.produces.items()):
            return c.name
    return scenario.creatures[0].name


Chooser = Callable[[WoodEnv, str], object]


def episode(e: WoodEnv, seat: str, seed: int, choose: Chooser, learn=None) -> tuple[float, int]:
    """One episode with `choose` in the seat: (the seat's total reward, steps)."""
    e.reset(seed=seed)
    total, steps = 0.0, 0
    while e.agents:
        turn = e.creature_observation(seat).turn
        action = choose(e, seat)
        _, rewards, *_ = e.step({seat: action})
        total += rewards[seat]
        steps += 1
        if learn is not None:
            learn(turn, rewards[seat])
    return total, steps


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="oona")
    ap.add_argument("--seat", default=None, help="the creature to learn (default: see above)")
    ap.add_argument("--steps", type=int, default=3000, help="training steps, at least")
    ap.add_argument("--episodes", type=int, default=20, help="evaluation episodes per agent")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    seat = args.seat or default_seat(load_scenario(args.scenario))
    e = parallel_env(args.scenario, agents=[seat])
    rng = random.Random(args.seed)
    bandit = Bandit(e.turns, rng)

    # Training: explore, learn each turn's arm values from its reward.
    steps, seed = 0, args.seed
    while steps < args.steps:
        chosen: dict[int, int] = {}

        def explore(env: WoodEnv, who: str, chosen=chosen) -> Action:
            obs = env.creature_observation(who)
            chosen[obs.turn] = arm = bandit.pick(obs.turn, explore=True)
            return template(obs, ARMS[arm])

        rewards: dict[int, float] = {}

        def learn(turn: int, reward: float, rewards=rewards) -> None:
            rewards[turn] = reward

        steps += episode(e, seat, seed, explore, learn)[1]
        # Each turn's arm is credited with the return from that turn to the end.
        to_go = 0.0
        for turn in sorted(rewards, reverse=True):
            to_go += rewards[turn]
            bandit.learn(turn, chosen[turn], to_go)
        seed += 1

    def greedy(env: WoodEnv, who: str) -> Action:
        obs = env.creature_observation(who)
        return template(obs, ARMS[bandit.pick(obs.turn, explore=False)])

    def random_agent(env: WoodEnv, who: str) -> object:
        return env.action_space(who).sample()

    standins: dict[int, StandinPolicy] = {}

    def standin(env: WoodEnv, who: str) -> Action:
        # The stand-in on its own stream, as the cast would give it: the same decisions.
        assert env.wood is not None
        if id(env.wood) not in standins:
            standins[id(env.wood)] = StandinPolicy(env.wood.rng("policy", who))
        return standins[id(env.wood)].decide(env.creature_observation(who))

    seeds = range(EVAL_SEEDS + args.seed, EVAL_SEEDS + args.seed + args.episodes)
    results = {}
    for name, choose in (("learner", greedy), ("standin", standin), ("random", random_agent)):
        e.action_space(seat).seed(args.seed)
        totals = []
        for s in seeds:
            standins.clear()
            totals.append(episode(e, seat, s, choose)[0])
        results[name] = (float(np.mean(totals)), float(np.std(totals)))
    e.close()

    print(f"scenario: {args.scenario}, seat: {seat}")
    print(f"trained steps: {steps}")
    print(f"evaluation: {args.episodes} episodes of {e.turns} turns, seeds {seeds[0]}..{seeds[-1]}")
    for name, (mean, sd) in results.items():
        print(f"{name}: {mean:+.1f} wealth per episode (sd {sd:.1f})")


if __name__ == "__main__":
    main()
