"""The hub's memory after a day (issue 22's RSS goal), measured from outside.

    python -m bench.bench_memory [--tickets 20000] [--listeners 2000] [--windows 300]
        [--kiosks 20] [--with-listeners 200] [--before-root DIR] [--dir DIR]

The peak bench's hall and devices (bench/peak_setup.py), ``onewindow serve`` as a
subprocess on SQLite. For each tree (``--before-root``: a checkout of the code before a
change, measured first in the same run; then this one):

1. day: a fresh hub; ``--tickets`` tickets through issue → call → finish at full speed
   by the 300 callers and 20 kiosks (no listeners yet: the cheap part of the day),
   then ``--listeners`` lean display connections (bench/peak_listeners.py) and
   ``--with-listeners`` more tickets with everyone connected; VmRSS and VmHWM.
2. restart: the hub killed with SIGKILL and started on the same store (today's
   command ids come back from the store), every device connected again,
   ``--with-listeners`` more tickets; VmRSS and VmHWM.

The same load for every tree; its figures go into one JSON line (``MEMORY_JSON``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_hub import Server
from bench.bench_peak import (
    Context,
    Day,
    Loads,
    Part,
    command,
    free_port,
    full_speed,
    hub_argv,
    open_devices,
    start_loads,
)
from bench.hub_listeners import raise_nofile
from bench.peak_setup import ROOT, Plan, provision
from bench.peak_wire import Device


async def start_hub(root: Path, argv: list[str], log: Path) -> Server:
    """``onewindow serve`` from the tree at ``root`` (this tree's interpreter)."""
    return await Server.start(argv, log, root, mode="ab")


def memory(hub: Server) -> dict[str, float]:
    rss, hwm = hub.memory()
    return {"rss_mb": round(rss, 1), "hwm_mb": round(hwm, 1)}


async def connect_all(ctx: Context, url: str) -> tuple[Day, dict[str, Device]]:
    """The callers and kiosks of this process, every window open."""
    specs = [("kiosk", k) for k, _ in ctx.plan_kiosks()] + [
        ("caller", ctx.plan.caller(w)) for z in ctx.plan.zone_ids
        for w in ctx.plan.zone_windows[z]]
    conns = await open_devices(url, specs, ctx.tokens)
    for z in ctx.plan.zone_ids:
        for w in ctx.plan.zone_windows[z]:
            with contextlib.suppress(RuntimeError):   # open already (after the restart)
                await command(conns[ctx.plan.caller(w)], "open_window", window=w)
    return Day(ctx, url, conns, Loads([])), conns


async def with_everyone(ctx: Context, hub: Server, day: Day, first: int,
                        out: dict[str, Any], phase: str) -> int:
    """The listeners connected, ``--with-listeners`` tickets more, then the memory."""
    args = ctx.args
    loads = day.loads = await start_loads(day.url, ctx.listeners_file,
                                          ctx.plan.listener_ids(), args.listener_procs)
    try:
        out[f"{phase}_connected"] = memory(hub)
        await full_speed(day, Part(phase), first, args.with_listeners)
        await loads.settle("hub", 30)
        await asyncio.sleep(1.0)
        out[phase] = memory(hub)
    finally:
        await loads.quit()
    return first + args.with_listeners


async def one_tree(ctx: Context, root: Path, tag: str) -> dict[str, Any]:
    args, out = ctx.args, {"root": str(root)}
    db, port = ctx.tmp / f"{tag}.db", free_port()
    argv = hub_argv(ctx.hall, ctx.devices, db, port)
    hub = await start_hub(root, argv, ctx.tmp / f"{tag}.log")
    conns: dict[str, Device] = {}
    try:
        await asyncio.sleep(1.0)
        out["idle"] = memory(hub)
        day, conns = await connect_all(ctx, hub.url)
        ctx.step(f"  {tag}: {args.tickets} tickets, no listeners")
        began = time.monotonic()
        await full_speed(day, Part("day"), 0, args.tickets)
        out["day_s"] = round(time.monotonic() - began, 1)
        out["before_listeners"] = memory(hub)
        ctx.step(f"  {tag}: {args.listeners} listeners, {args.with_listeners} tickets more")
        first = await with_everyone(ctx, hub, day, args.tickets, out, "day")
        ctx.step(f"  {tag}: {out['day']}; kill -9 and restart")
        for conn in conns.values():
            conn.close()
        hub.proc.kill()
        await hub.proc.wait()
        hub = await start_hub(root, argv, ctx.tmp / f"{tag}.log")
        await asyncio.sleep(1.0)
        out["restart_idle"] = memory(hub)
        day, conns = await connect_all(ctx, hub.url)
        await with_everyone(ctx, hub, day, first, out, "restart")
        ctx.step(f"  {tag}: restart {out['restart']}")
    finally:
        for conn in conns.values():
            conn.close()
        await hub.stop()
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench_memory_", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        plan = Plan(args.windows, args.kiosks, args.listeners, args.zones)
        hall, devices, tokens = provision(plan, tmp)
        ctx = Context(args, tmp, plan, hall, devices, tokens, tmp / "tokens-listeners.toml")
        ctx.step(f"provisioned {len(tokens)} devices")
        trees = [(Path(args.before_root), "before")] if args.before_root else []
        result: dict[str, Any] = {"tickets": args.tickets, "listeners": args.listeners,
                                  "sockets": args.listeners + args.windows + args.kiosks}
        for root, tag in [*trees, (ROOT, "after")]:
            result[tag] = await one_tree(ctx, root, tag)
        return result


def report(result: dict[str, Any]) -> None:
    print(f"\n{result['tickets']} tickets, {result['sockets']} sockets "
          f"({result['listeners']} listeners)")
    rows = ("idle", "before_listeners", "day_connected", "day", "restart_idle",
            "restart_connected", "restart")
    print(f"{'':20} " + " ".join(f"{tag:>19}" for tag in result if tag in
                                 ("before", "after")))
    for row in rows:
        cells = [f"{result[t][row]['rss_mb']:7.1f} (HWM {result[t][row]['hwm_mb']:5.0f})"
                 for t in ("before", "after") if t in result]
        print(f"{row:20} " + " ".join(f"{c:>19}" for c in cells))
    print("MEMORY_JSON " + json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--with-listeners", type=int, default=200,
                    help="tickets more once the listeners are connected")
    ap.add_argument("--listeners", type=int, default=2000)
    ap.add_argument("--listener-procs", type=int, default=2)
    ap.add_argument("--windows", type=int, default=300)
    ap.add_argument("--kiosks", type=int, default=20)
    ap.add_argument("--zones", type=int, default=4)
    ap.add_argument("--before-root", help="a tree of the code before a change")
    ap.add_argument("--dir", help="where the temporary store goes")
    args = ap.parse_args(argv)
    raise_nofile()
    report(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
