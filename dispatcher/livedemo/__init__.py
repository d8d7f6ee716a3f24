"""`onewindow demo`: the sample hall live, as separate processes on one machine.

run.py starts the hub, the virtual printers, the kiosks, the caller panels, the wall
display with voice, the LED strip double and its bridge, the evaluator, the console
and the simulated clerks; stops them all on Ctrl-C; and, headless, ends with a
summary checked across the devices' records and the store (summary.py).
"""
