"""The case file's queries, one module per purpose; the layers above call these, not SQL.

- :mod:`evidence.queries.findings`: the one findings join (finding, candidate, platform,
  character) as typed rows: a run's new findings, the command line's listing;
- :mod:`evidence.queries.runs`: a monitoring run's row: crashed runs reaped, a run interrupted;
- :mod:`evidence.queries.captures`: which findings a run captures, and the top one it sealed;
- :mod:`evidence.queries.rechecks`: findings due for a recheck, notice-to-removal times;
- :mod:`evidence.queries.seen`: what earlier crawls stored (incremental crawling);
- :mod:`evidence.queries.references`: what the likeness engine is built from (references and
  their fingerprints, characters, flagged models);
- :mod:`evidence.queries.crawled`: what a crawl writes (candidates, findings, failures), in
  batches of one transaction;
- :mod:`evidence.queries.slots`: the capture row holding a distributed task's slot key;
- :mod:`evidence.queries.review`: findings for review (the queue with its filters and paging,
  one finding's detail, a decision's precheck), run counts, reference image paths.

Status changes are :mod:`evidence.lifecycle`'s (``decide``, ``mark_persisting``).
"""
