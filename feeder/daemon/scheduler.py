"""The scheduler process behind `feeder run`: jobs, inbox watching, signals, one per database.

The jobs themselves live in `jobs/` and call the same library functions as
the manual commands; everything here is about *when* they run. A file the
watcher sees land is ingested by a run that looks at the files named by
events and nothing else, so its cost does not grow with the inbox; the
scheduled run every `ingest_interval` scans the whole inbox, the safety net
for events that were lost. A run asked for while the ingest job is busy is
remembered and done right after it, so a file that lands mid-run is not left
for the next interval.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from threading import Event, Lock
from types import FrameType
from typing import Any, Protocol

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

import jobs.ingest
import jobs.maintenance
from feeder.clock import Clock, utc_now
from feeder.config import Config, ConfigError, load_config
from feeder.daemon.coalescing import IngestCoalescer, IngestWork
from feeder.daemon.heartbeat import remove_heartbeat_temp_files, write_heartbeat
from feeder.errors import FeederError
from feeder.feeds.hubs import running_hub
from feeder.intake.watch import InboxWatcher
from feeder.locking import LockBusy, file_lock, holder_pid
from feeder.startup import warn_about_the_served_port
from feeder.store import Store

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# Events closer together than this become one ingest run.
DEBOUNCE_SECONDS = 0.1
MISFIRE_GRACE_SECONDS = 30
# A job waits this long for a manual command holding the work lock, then fails and retries later.
JOB_LOCK_TIMEOUT_SECONDS = 30.0
# A restart right after a stop may briefly overlap the old process's exit.
DAEMON_LOCK_WAIT_SECONDS = 2.0
# systemd's ExecReload sends it; so does `kill -HUP`.
RELOAD_SIGNAL = signal.SIGHUP
# What the running process is built around: changed, they need a restart.
RESTART_ONLY = ("inbox", "database", "output_dir", "schedule", "server")


class DaemonAlreadyRunning(FeederError):
    """Another `feeder run` holds this database."""


class Service(Protocol):
    """Something that runs beside the scheduler for the daemon's lifetime (the HTTP server)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Daemon:
    def __init__(
        self, config: Config, services: Sequence[Service] = (), clock: Clock = utc_now
    ) -> None:
        self.config = config
        self.services = list(services)
        self.clock = clock
        self.stop_event = Event()
        self.started = clock()
        self.scheduler = BackgroundScheduler(
            timezone=config.timezone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        self.ingest_requests = IngestCoalescer()
        # Held while the arrived-files job is looked up and added, which two threads may do.
        self._scheduling = Lock()
        # The jobs whose next run times the heartbeat reports.
        self._reported_jobs: list[Job] = []
        # Set by a signal to wake the main thread; a reload is then done there.
        self._woken = Event()
        self._reload_requested = False

    def run(self) -> None:
        """Block until SIGTERM or SIGINT, then stop cleanly."""
        try:
            with file_lock(self.config.daemon_lock_path, DAEMON_LOCK_WAIT_SECONDS, "feeder run"):
                self._serve_until_stopped()
        except LockBusy:
            pid = holder_pid(self.config.daemon_lock_path)
            raise DaemonAlreadyRunning(
                f"feeder run is already running for {self.config.database} (pid {pid or 'unknown'}); "
                "stop it first, or use `feeder status` to see what it is doing"
            ) from None

    def reload(self) -> None:
        """Read the config file again (SIGHUP): a valid one is used from the next job
        on, an invalid one is logged and the running one kept.

        What the running process is built around (the paths, the schedule, the
        server, the WebSub hub's endpoint and worker) keeps its old value until a
        restart, and the log says so.
        """
        try:
            new = load_config(self.config.source)
        except ConfigError as error:
            log.error("reload refused, the running configuration stays: %s", error)
            return
        kept = [key for key in RESTART_ONLY if getattr(new, key) != getattr(self.config, key)]
        hub = running_hub(self.config, new)
        changed = [*kept, "websub"] if hub != new.websub else kept
        if changed:
            log.warning(
                "reload: %s changed in %s; that takes effect when feeder run restarts",
                ", ".join(changed),
                new.source,
            )
        new = replace(new, websub=hub, **{key: getattr(self.config, key) for key in kept})
        self.config = new
        log.info("reloaded %s; the next job uses it", new.source)
        warn_about_the_served_port(new)
        # So that changed settings reach the output now, not at the next interval.
        self.scheduler.add_job(
            self._ingest_job,
            "date",
            run_date=self.clock(),
            args=[True],
            id="ingest-after-reload",
            name="ingest after reload",
            replace_existing=True,
            max_instances=2,  # beside a running ingest, which it then hands its work to
        )

    def _serve_until_stopped(self) -> None:
        remove_heartbeat_temp_files(self.config)
        previous_handlers = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, RELOAD_SIGNAL)
        }
        watcher = (
            InboxWatcher(self.config.inbox, self._file_arrived)
            if self.config.schedule.watch
            else None
        )
        started: list[Service] = []
        try:
            # Jobs (a bad cron line) and the server (a taken port) fail before any work starts.
            self._schedule_jobs()
            for service in self.services:
                service.start()
                started.append(service)
            self.scheduler.start()
            if watcher:
                watcher.start()
                started.append(watcher)
            log.info("feeder run started (pid %d) for %s", os.getpid(), self.config.database)
            self._log_outstanding_rejects()
            while not self.stop_event.is_set():
                self._woken.wait()
                self._woken.clear()
                if self._reload_requested and not self.stop_event.is_set():
                    self._reload_requested = False
                    self.reload()
            log.info("stopping: finishing the current job")
        finally:
            self.stop_event.set()
            for service in reversed(started):
                service.stop()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            self.config.daemon_state_path.unlink(missing_ok=True)
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
        log.info("feeder run stopped")

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        """Only flags: the main loop does the work, outside the signal handler."""
        log.info("received %s", signal.Signals(number).name)
        if number == RELOAD_SIGNAL:
            self._reload_requested = True
        else:
            self.stop_event.set()
        self._woken.set()

    def _log_outstanding_rejects(self) -> None:
        """After a restart, what still waits for the operator is worth one line."""
        with Store(self.config.database) as store:
            outstanding = len(store.rejects())
        if outstanding:
            log.warning(
                "%d rejected file%s still in the inbox; `feeder status` lists them with the reason",
                outstanding,
                "" if outstanding == 1 else "s",
            )
        else:
            log.info("no rejected files outstanding")

    def _schedule_jobs(self) -> None:
        schedule = self.config.schedule
        now = self.clock()
        ingest = self.scheduler.add_job(
            self._ingest_job,
            IntervalTrigger(seconds=schedule.ingest_interval),
            args=[True],
            id="ingest",
            name="ingest",
            next_run_time=now,  # catch up on what arrived while the daemon was down
        )
        maintenance = self.scheduler.add_job(
            self._maintenance_job,
            self._maintenance_trigger(),
            id="maintenance",
            name="maintenance",
        )
        self._reported_jobs = [ingest, maintenance]
        self.scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=HEARTBEAT_SECONDS),
            id="heartbeat",
            name="heartbeat",
            next_run_time=now,
        )

    def _maintenance_trigger(self) -> CronTrigger:
        """Checked here, not when the config is read: only the daemon needs the
        scheduler, and importing it would slow every other command's start."""
        cron = self.config.schedule.maintenance_cron
        try:
            return CronTrigger.from_crontab(cron, timezone=self.config.timezone)
        except ValueError as error:
            raise ConfigError(
                f"{self.config.source}: key 'schedule.maintenance_cron' is not a crontab "
                f"expression ({error}): {cron!r}"
            ) from None

    # --- ingest on demand ------------------------------------------------------

    def _file_arrived(self, name: str, complete: bool) -> None:
        """From the watcher thread: a complete file is ingested now, a created one after settling."""
        self.ingest_requests.file_arrived(name, complete)
        if complete:
            self._request_ingest()
        else:
            self.scheduler.add_job(
                self._request_ingest,
                "date",
                run_date=self.clock()
                + timedelta(seconds=self.config.settle_seconds + DEBOUNCE_SECONDS),
                id="ingest-after-settling",
                replace_existing=True,
            )

    def _request_ingest(self) -> None:
        """A run of the arrived files, soon; events closer together than the debounce share it."""
        with self._scheduling:
            if not self.ingest_requests.request():
                return  # the running ingest goes round again for them
            if self.scheduler.get_job("ingest-arrived") is None:
                self.scheduler.add_job(
                    self._ingest_job,
                    "date",
                    run_date=self.clock() + timedelta(seconds=DEBOUNCE_SECONDS),
                    args=[False],
                    id="ingest-arrived",
                    name="ingest arrived files",
                    # One may still be finishing as the next is asked for; the
                    # coalescer makes the second hand its work to the first.
                    max_instances=2,
                )

    def _maintenance_job(self) -> None:
        # self.config read when the job runs, so that a reload reaches it.
        self._guarded("maintenance", jobs.maintenance.run, self.config, JOB_LOCK_TIMEOUT_SECONDS)

    def _ingest_job(self, scan_inbox: bool) -> None:
        self.ingest_requests.run(self._ingest, self.stop_event, scan=scan_inbox)

    def _ingest(self, work: IngestWork) -> None:
        self._guarded(
            "ingest",
            jobs.ingest.run,
            self.config,
            work.only,
            work.complete,
            self.stop_event,
            JOB_LOCK_TIMEOUT_SECONDS,
        )

    # --- plumbing ----------------------------------------------------------------

    def _guarded(self, name: str, job: Callable[..., Any], *args: Any) -> None:
        """A failing job is logged and retried at its next time; the daemon lives on.

        A FeederError's message says what to do, so it is the whole line; anything
        else is a bug, logged with its traceback (in the same one line).
        """
        try:
            job(*args)
        except FeederError as error:
            log.error("%s job failed: %s; it runs again at its next scheduled time", name, error)
        except Exception as error:
            log.exception(
                "%s job failed: %s; it runs again at its next scheduled time", name, error
            )

    def _heartbeat(self) -> None:
        # Not scheduler.get_jobs(): a shutdown holds the lock it takes while it waits
        # for running jobs, this one included, and the daemon would hang on SIGTERM.
        next_runs = {job.id: job.next_run_time for job in self._reported_jobs if job.next_run_time}
        write_heartbeat(self.config, self.started, next_runs, self.clock())
