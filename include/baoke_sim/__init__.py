"""The simulated dealer group: a faithful stand-in for the DMS, the insurers, the
manufacturer and the call center of ``docs/feeds.md``.

The world is generated once per seed and scale into a SQLite file (``world.sqlite``):
every version of every DMS record over the whole timeline, each with the time it
becomes visible. A world clock (``meta.clock``) decides what the feeds show:
``baoke simulate advance --to D`` moves it, so daily extraction sees a real stream of
changes, late and out-of-order ones included, and a given seed is byte-identical.
"""
