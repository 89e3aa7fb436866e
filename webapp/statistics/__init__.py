"""The statistics, pure: plain dataclasses in (counts, sums, sums of squares per arm), plain dataclasses out.

In the manner of GrowthBook's gbstats: no I/O, no Flask, no database, and nothing imported from the
domains; `experiments` and `rollouts` import it, never the reverse.
"""
