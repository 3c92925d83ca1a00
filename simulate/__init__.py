"""Simulation models (SimPy) and the Monte Carlo runner.

The revolving-credit model's maths, metrics and sources: docs/simulation.md.

Modules:

- `revolving_credit` — the businessman card's revolving loan (生意人卡循环贷): a card portfolio
  with limits, cash needs, repayments, counters, interest, defaults and limit reviews;
- `credit_book` — the accounts' books with interest by the 积数 method, accrued lazily;
- `dates` — simulation days ↔ calendar dates, settlement days;
- `runner` — replications in-process, in local processes or on a Dask cluster, reproducible;
- `stats` — summaries over replications; `records` — what a replication returns;
- `service` — `run_simulation(settings, model, …)`, the entry point for `api/`.

Glossary (units inside the engine):

- *day* — simulation time is a float in days; day `d` is `[d, d + 1)`. The measured period
  starts on 1 January of the start year, after `warmup_days` of warm-up.
- *money* — 万元 (10,000 CNY).
- *cash need* — a client's wish to draw an amount; the *drawdown* grants what the available limit
  (limit − balance) allows, the rest is *declined*.
- *holding time* — days from a drawdown until (each part of) it is repaid from receipts.
- *积数* (balance-days) — Σ end-of-day balance over days; interest = 积数 × annual rate ÷ basis.
- *basis* — day-count basis, days per year in the daily rate (360 in China, PBoC).
- *settlement* — interest for the days up to and including the 20th is settled on the 20th
  (monthly, or in March, June, September and December).
- *utilisation* — balance ÷ limit (of an account, or Σ balance ÷ Σ limit of the portfolio).
- *EAD* — exposure at default, the balance when an account defaults; *LGD* — the share lost;
  *CCF* — credit conversion factor, the share of the undrawn limit drawn by default.
- *replication* — one independent run of a model on its own random stream; metrics are
  summarised over replications.
"""
