"""Policies: what decides a creature's action each turn (`decide(observation) -> Action`)."""
