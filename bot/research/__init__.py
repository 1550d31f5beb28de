"""Research on the backtester: sweeps, walk-forward, Monte Carlo; local workers or Dask."""
