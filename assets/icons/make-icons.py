#!/usr/bin/env python3
"""Draws PicoShare's icons (a rounded teal square with a white upward arrow) as PNG and ICO.

Run once by hand; the results are committed and embedded in the binary. Standard library only.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TEAL = (15, 118, 110)
WHITE = (255, 255, 255)


def inside(x, y, radius=0.22):
    """Which colour the point (x, y) in the unit square has, or None for transparent."""
    # Rounded square.
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    if (x - cx) ** 2 + (y - cy) ** 2 > radius**2:
        return None
    # Arrow: a triangle head and a stem, plus a base bar (a tray).
    if 0.22 <= y <= 0.50 and abs(x - 0.5) <= (y - 0.22) * 0.95:
        return WHITE
    if 0.49 <= y <= 0.70 and abs(x - 0.5) <= 0.075:
        return WHITE
    if 0.76 <= y <= 0.83 and 0.26 <= x <= 0.74:
        return WHITE
    return TEAL


def render(size, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    c = inside((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)
                    if c is not None:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 255
            n = samples * samples
            a = acc[3] // n
            if a:
                row += bytes([acc[0] * 255 // acc[3], acc[1] * 255 // acc[3], acc[2] * 255 // acc[3], a])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(w, h, raw):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(images):
    """An ICO file whose entries are PNGs (supported by every current browser)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in images:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        blobs += data
    return header + entries + blobs


def main():
    sizes = {
        "favicon-16x16.png": 16,
        "favicon-32x32.png": 32,
        "apple-touch-icon.png": 180,
        "mstile-150x150.png": 150,
        "android-chrome-192x192.png": 192,
        "android-chrome-384x384.png": 384,
    }
    made = {}
    for name, size in sizes.items():
        made[size] = render(size)
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(made[size])
    with open(os.path.join(HERE, "favicon.ico"), "wb") as f:
        f.write(ico([(16, made[16]), (32, made[32])]))


if __name__ == "__main__":
    main()
