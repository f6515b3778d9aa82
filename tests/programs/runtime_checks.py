"""Checks the runtime tests share: a launch's report and its per-request lines."""
import csv


def launch_results(work, name):
    """The report text and the requests.csv rows of launch NAME, whose guarantees must hold."""
    text = open(f"{work}/{name}/report.txt").read()
    assert "guarantees: all held" in text, text
    return text, list(csv.DictReader(open(f"{work}/{name}/requests.csv")))


def check_answers(rows, count, transitions, max_odd):
    """Every one of COUNT requests answered once, in order, and every comparable answer equal
    to the simulation. An answer seeing a node both failed and alive (consumers reconnect at
    different moments) matches no single failure pattern: such answers may occur only at
    requests in TRANSITIONS, at most MAX_ODD of them. Returns the simulation column."""
    assert [int(r["request"]) for r in rows] == list(range(count)), "every request once, in order"
    assert all(r["answered"] == "1" for r in rows), "every request answered"
    sim = [r["simulation"] for r in rows]
    assert "differs" not in sim, "every comparable answer equals the simulation"
    odd = [i for i, v in enumerate(sim) if v == "not-comparable"]
    assert sim.count("equal") + len(odd) == count and set(odd) <= transitions and len(odd) <= max_odd, odd
    return sim
