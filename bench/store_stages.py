"""Where a store import's time goes: CPU milliseconds per message for each stage, in one process.

    .venv/bin/python bench/store_stages.py [--count 500] [--profile worker|writer]

Builds COUNT generated sealed lab messages (as bench/store_import.py does), then
times each stage over all of them with time.process_time (CPU, not wall: the
machine is shared), native crypto on one thread as in a worker process:

  worker: find the envelope part, verify (signature, key unwrap), the whole
          batch open, lab parts + parse, lab facts, the clear message, the
          whole prepare_chunk (all of the above + tmp files);
  writer: IndexWriter.write_batch as the import runs it (replay check, publish,
          index, tags, properties, commit, signed trace, syncfs),
          the trace alone (Journal.record_many, one signature per batch),
          its floor: the same libnotmuch calls alone on copies of the published
          files (no rename, replay check, trace, syncfs),
          against `notmuch new` on the same messages in clear (its CPU, from
          the child's rusage).
--profile prints the top of a cProfile of one side.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from store_import import build, maildir  # noqa: E402

from pli.core.crypto import envelope, primitives  # noqa: E402
from pli.core.crypto.mime import extract_envelope  # noqa: E402
from pli.core.store.layout import Layout  # noqa: E402
from pli.core.store.sources import maildir_sources  # noqa: E402
from pli.core.store.worker import WorkerContext, clear_message, digest, prepare_chunk, set_context  # noqa: E402
from pli.core.store.writer import IndexWriter  # noqa: E402

CHUNK = 64


def per_message(label: str, count: int, fn) -> None:
    started = time.process_time()
    fn()
    spent = time.process_time() - started
    print(f"  {label:<72} {spent * 1000 / count:6.3f} ms")


def chunks(items: list, size: int = CHUNK):
    return [items[i:i + size] for i in range(0, len(items), size)]


def worker_stages(raws: list[bytes], keyring, layout: Layout, sources) -> list:
    from pli.core.store.worker import _lab

    n = len(raws)
    opened = []
    per_message("find the envelope part (extract_envelope)", n, lambda: [extract_envelope(r) for r in raws])
    envelopes = [extract_envelope(r) for r in raws]
    per_message("verify (signature, key unwrap)", n, lambda: [envelope.verify_envelope(e, keyring) for e in envelopes])
    per_message("whole batch open (open_mails, chunks of 64)", n,
                lambda: [opened.extend(envelope.open_mails(c, keyring)) for c in chunks(raws)])
    inners = [o.inner for o in opened]
    labs = []
    per_message("lab facts incl. parse (worker._lab)", n, lambda: labs.extend(_lab(i) for i in inners))
    per_message("clear message (X-Pli-* fields, header rewrite)", n,
                lambda: [clear_message(o, digest(b"env", o.envelope_id.encode()), lab)
                         for o, lab in zip(opened, labs)])
    set_context(WorkerContext(layout, keyring, True))
    prepared = []
    per_message("whole prepare_chunk (all above + tmp files)", n,
                lambda: [prepared.extend(prepare_chunk(c)) for c in chunks(sources)])
    return prepared


def writer_stage(layout: Layout, keyring, prepared: list, batch: int = 1000) -> None:
    from pli.core.audit import home_journal
    from pli.core.crypto.seen import SeenRanges

    # as the import runs it: replay check, signed trace, syncfs before and after the renames
    writer = IndexWriter(layout, SeenRanges(layout.home), True, home_journal(layout.home, keyring))
    per_message("writer: write_batch (replay check, publish, index, tags, props, trace)", len(prepared),
                lambda: ([writer.write_batch(b) for b in chunks(prepared, batch)], writer.finish()))


def trace_stage(root: Path, keyring, prepared: list, batch: int = 1000) -> None:
    """The trace alone: one `opened-verified` step per message, batches of `batch` (the writer signs and
    appends them on a thread of its own; its CPU is the import's all the same)."""
    from pli.core.audit import Step, home_journal
    from pli.core.home import Home

    journal = home_journal(Home(root / "trace-only"), keyring)
    steps = [Step("opened-verified", p.opened.envelope_id, {"mid": p.message_id, "sender": p.opened.sender_address,
                                                             "fingerprint": p.opened.fingerprint, "mode": p.opened.mode})
             for p in prepared if p.opened is not None]
    per_message("trace: Journal.record_many (one signature per batch of 1,000)", len(steps),
                lambda: [journal.record_many(steps[i:i + batch]) for i in range(0, len(steps), batch)])


def index_floor(root: Path, layout: Layout, prepared: list, batch: int = 1000) -> None:
    """The writer's libnotmuch calls alone, on copies of the clear files it published: index_file,
    tags, properties, thaw, commit; no rename, replay check, trace or syncfs.  No writer can go
    below this, and it is already about what `notmuch new` spends on the same messages."""
    from pli.core.home import Home
    from pli.core.store import database
    from pli.core.store.create import create_store
    from pli.core.store.writer import _index

    floor = Layout(Home(root / "floor"))
    create_store(floor.home)
    paths = []
    for p in prepared:
        target = p.final_clear(floor)
        shutil.copyfile(p.final_clear(layout), target)
        paths.append((target, p))

    def run() -> None:
        for start in range(0, len(paths), batch):
            with database.open_write(floor) as db, db.atomic():
                for path, p in paths[start:start + batch]:
                    _index(db, path, p)

    per_message("writer floor: libnotmuch alone (index_file, tags, props, thaw, commit)", len(paths), run)


def notmuch_new_cpu(mail_root: Path) -> float:
    shutil.rmtree(mail_root / ".notmuch", ignore_errors=True)
    config = mail_root.parent / f"{mail_root.name}-notmuch-config"
    config.write_text(f"[database]\npath={mail_root}\n[new]\ntags=inbox;unread;\n"
                      "[maildir]\nsynchronize_flags=false\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["notmuch", "new", "--quiet"], env={**os.environ, "NOTMUCH_CONFIG": str(config)}, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--profile", choices=("worker", "writer"), default=None)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="pli-bench-stages-", dir="/var/tmp"))
    primitives.set_native_threads(1)  # as in a worker process
    try:
        print(f"building {args.count:,} sealed lab messages ...", file=sys.stderr)
        home, sealed, plain, _ = build(root / "main", args.count, pad=True, clear=True)
        from pli.core.crypto.keyring import Keyring
        from store_import import PASSPHRASE

        keyring = Keyring.unlock(home, PASSPHRASE)
        layout = Layout(home)
        sources = list(maildir_sources(sealed))
        raws = [s.read() for s in sources]
        print(f"CPU per message ({args.count:,} messages, {primitives.backend_info().name} crypto, one thread):")
        profiler = cProfile.Profile() if args.profile else None
        if profiler and args.profile == "worker":
            profiler.enable()
        prepared = worker_stages(raws, keyring, layout, sources)
        if profiler and args.profile == "worker":
            profiler.disable()
        if profiler and args.profile == "writer":
            profiler.enable()
        writer_stage(layout, keyring, prepared)
        if profiler and args.profile == "writer":
            profiler.disable()
        trace_stage(root, keyring, prepared)
        index_floor(root, layout, prepared)
        nm = notmuch_new_cpu(plain.parent)
        print(f"  {'notmuch new, the same messages in clear (whole job)':<72} {nm * 1000 / args.count:6.3f} ms")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
