"""`feeder run`: the scheduler daemon (`scheduler`), the heartbeat it leaves for
`feeder status` (`heartbeat`) and the gathering of ingest requests that arrive while
a run is busy (`coalescing`)."""
