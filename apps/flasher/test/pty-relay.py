# Creates a pseudo-terminal pair, prints the slave's path on the first line of
# stdout, then relays bytes: master -> stdout, stdin -> master. Tests use it
# to put a real terminal device between the flasher and a simulated ESP32-S3.
import os
import pty
import select
import sys

master, slave = pty.openpty()
sys.stdout.write(os.ttyname(slave) + "\n")
sys.stdout.flush()

while True:
    ready, _, _ = select.select([master, 0], [], [])
    if master in ready:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 4096)
        if not data:
            break
        os.write(master, data)
