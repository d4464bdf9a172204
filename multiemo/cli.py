"""The multiemo command: train, evaluate, predict, import the paper's released features."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import sys
import traceback
from collections.abc import Sequence

from multiemo import __version__, bound_kernel_caches
from multiemo.errors import InputError, MultiemoError
from multiemo.settings import check_seeds

log = logging.getLogger("multiemo")

# Exit codes (README, "Command line"; the epilog of --help).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# Errors a user can cause and fix (bad input, settings, paths, a busy run directory, a full disk): one
# message. multiemo raises them as its own types; any other exception, a plain ValueError included, is a bug.
HANDLED = (MultiemoError, OSError)
# What to lower when a GPU runs out of memory, by command (the one message of torch.OutOfMemoryError).
OUT_OF_MEMORY = {
    "train": "lower train.batch_size (dialogues per batch), set train.checkpoint_fusion=true (recomputes the "
             "fusion's activations in backward: less memory, same results) or train.precision=bf16, or train "
             "on the CPU with train.device=cpu",
    "evaluate": "evaluate on the CPU (CUDA_VISIBLE_DEVICES= multiemo evaluate ...) or free the GPU",
    "predict": "lower the extraction batch sizes (--set visual.batch_size=8 --set text.batch_size=8) "
               "or predict on the CPU with --device cpu",
}
EPILOG = """exit codes:
  0    success
  1    an error in the input, the settings or the files (a missing file, a bad value, a run directory
       in use, a full disk, a GPU out of memory): one message names the file or the setting
  2    a usage error: an unknown option or a missing argument (argparse prints the usage)
  3    an internal error, a bug in multiemo: the traceback is printed; please report it
  130  interrupted (Ctrl-C)
"""
FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds must be a comma-separated list of integers, got {text!r}")
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds needs at least one seed")
    try:
        return check_seeds(seeds, "--seeds")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="multiemo", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"multiemo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train", help="train (and evaluate) MultiEMO on a feature store", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one run per seed on a feature store and evaluate its best-on-validation\n"
                    "checkpoint. key=value overrides may stand anywhere on the line; they apply last, "
                    "in order.")
    train.add_argument("--config",
                       help="a config file (e.g. the repository's config.yaml): its datasets entries "
                            "become --dataset names and its presets are added to the packaged ones "
                            "(a preset of the same name replaces the packaged one); default: none, "
                            "the packaged presets meld, iemocap, small_corpus")
    train.add_argument("--dataset", required=True,
                       help="a preset (meld, iemocap, small_corpus) or a dataset entry of --config")
    train.add_argument("--features", required=True, help="feature store directory")
    train.add_argument("--out", required=True, help="run directory (resumed if it holds the same run; locked "
                                                    "while training)")
    train.add_argument("--seeds", type=_seeds, help="comma-separated seeds, e.g. 1,2,3,4,5: one run per seed")
    train.add_argument("overrides", nargs="*", metavar="key=value",
                       help="typed overrides, e.g. train.epochs=5 model.fusion=false train.selection=loss")

    evaluate = sub.add_parser("evaluate", help="score a run's best checkpoint")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--split", default="test", choices=["train", "validation", "test"])

    predict = sub.add_parser("predict", help="predict the emotion of every utterance of a new conversation")
    trained = predict.add_mutually_exclusive_group(required=True)
    trained.add_argument("--run", help="trained run directory (holds best.pt)")
    trained.add_argument("--model", help="exported model directory (multiemo export) or Hugging Face hub id")
    predict.add_argument("--revision", help="hub branch, tag or commit of --model (default: main)")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="the conversation's video")
    source.add_argument("--manifest", help="manifest CSV of utterance clips (label and split optional)")
    predict.add_argument("--transcript",
                         help="SRT or WebVTT subtitles of --video (without: audio and faces only)")
    predict.add_argument("--out", required=True,
                         help="folder for predictions.csv, predictions.json, timeline.png, predictions.html")
    predict.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    predict.add_argument("--low-confidence", type=float, metavar="P",
                         help="flag utterances whose top (calibrated) probability is below P (default 0.5)")
    predict.add_argument("--set", dest="settings", action="append", default=[], metavar="key=value",
                         help="extraction override, e.g. visual.batch_size=16 (only batch_size may differ "
                              "from training), segmentation.min_silence=0.6, diarization.num_speakers=2 or "
                              "asr.model=WHISPER_DIR")

    export = sub.add_parser("export",
                            help="write a run's best model as a self-contained, shareable directory")
    export.add_argument("run_dir", help="trained run directory (holds best.pt)")
    export.add_argument("out_dir",
                        help="folder for config.json, model.safetensors and the README.md model card")

    own = sub.add_parser("import-features",
                         help="make a feature store from a manifest CSV and your own arrays")
    own.add_argument("manifest", help="the manifest CSV (README: 'Your own corpus'); media optional")
    own.add_argument("out_dir", help="feature store directory to create")
    own.add_argument("--features", dest="sources", action="append", required=True, metavar="MODALITY=FILE",
                     help="one per modality: .npy rows in manifest order, .npz/.pkl dialogue id -> (n, d) "
                          "array, or .csv with utterance_id (and dialogue_id) columns; e.g. text=text.npy")
    own.add_argument("--labels", help="comma-separated label names in index order (default: sorted labels)")
    own.add_argument("--name",
                     help="dataset name recorded in the store (default: the manifest's folder name)")
    own.add_argument("--validation-fraction", type=float, default=0.1,
                     help="without validation rows: this seeded fraction of training dialogues (default 0.1)")
    own.add_argument("--seed", type=int, default=0, help="seed of that draw (recorded in the store)")

    legacy = sub.add_parser("import-legacy",
                            help="convert a published feature pickle (MultiEMO, DialogueRNN, "
                                 "DialogueGCN, MMGCN, COSMIC) into a store")
    legacy.add_argument("--format", default="multiemo",
                        choices=["multiemo", "dialoguernn", "dialoguegcn", "mmgcn", "cosmic"],
                        help="whose pickle: multiemo (a folder with Speakers.pkl and *Features.pkl, the "
                             "default) or one file of the other projects (see README)")
    legacy.add_argument("--dataset", required=True, choices=["meld", "iemocap", "emorynlp"],
                        help="emorynlp: cosmic only")
    legacy.add_argument("--seed", type=int, default=0, help="seed of the validation split when one is drawn")
    legacy.add_argument("src", metavar="SOURCE", help="the pickle file (the folder for --format multiemo)")
    legacy.add_argument("out_dir")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with train's ``key=value`` overrides gathered from anywhere on it, in order.

    argparse takes the positional overrides only where they stand together; the ones after an option come
    back unrecognised and are appended (those are always later on the line, so the order is kept).
    """
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    unknown = [e for e in extras if e.startswith("-") or args.command != "train"]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if extras:
        args.overrides = [*args.overrides, *extras]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``EPILOG``). argparse exits 2 on a usage error."""
    bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _dispatch(args)
    except HANDLED as err:
        if args.debug:
            raise
        print(f"multiemo {args.command}: error: {_message(err)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"multiemo {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # a bug: keep the traceback for the report
        if args.debug:
            raise
        if _out_of_gpu_memory(err):
            first = str(err).strip().splitlines()[0] if str(err).strip() else "CUDA out of memory"
            print(f"multiemo {args.command}: error: the GPU ran out of memory ({first[:200]}): "
                  f"{OUT_OF_MEMORY.get(args.command, 'run on the CPU')}", file=sys.stderr)
            return EXIT_ERROR
        traceback.print_exc()
        print(f"multiemo {args.command}: internal error ({type(err).__name__}: {err}); this is a bug in "
              f"multiemo {__version__}: please report it with the traceback above", file=sys.stderr)
        return EXIT_INTERNAL


def _out_of_gpu_memory(err: BaseException) -> bool:
    """Whether ``err`` is torch's out-of-memory error (torch is only looked at when a command imported it)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(err, torch.OutOfMemoryError)


def _message(err: BaseException) -> str:
    """One line for a handled error; an OS error names its file and, for a full disk, what is left."""
    if not isinstance(err, OSError) or err.errno is None:
        return str(err)
    where = f"{err.filename}: " if err.filename else ""
    text = f"{where}{err.strerror or err} ({errno.errorcode.get(err.errno, err.errno)})"
    if err.errno in FULL_DISK:
        text += ("; files are written whole or not at all, so nothing was left half-written: free space "
                 "(or raise the limit) and run the same command again (train resumes after the last "
                 "finished epoch)")
    return text


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "train":
        from multiemo.registry import load_plugins
        from multiemo.settings import load_yaml
        from multiemo.training import train_run, train_seeds
        from multiemo.training.config import resolve_run_settings

        config = load_yaml(args.config) if args.config else {}
        load_plugins(config.get("plugins"))  # a plugin loss or reader the config names
        settings = resolve_run_settings(config, args.dataset, args.overrides)
        if args.seeds:
            summary = train_seeds(args.features, settings, args.out, args.seeds, progress=not args.quiet)
            test = summary["test"]
            print(f"test weighted-F1 {test['weighted_f1']['mean']:.2f} ± {test['weighted_f1']['std']:.2f}, "
                  f"accuracy {test['accuracy']['mean']:.2f} ± {test['accuracy']['std']:.2f} "
                  f"over seeds {summary['seeds']}")
        else:
            metrics = train_run(args.features, settings, args.out, progress=not args.quiet)
            print(f"best epoch {metrics['best_epoch']} (chosen on validation {metrics['selection']}): "
                  f"test weighted-F1 {metrics['test']['weighted_f1']:.2f}, "
                  f"accuracy {metrics['test']['accuracy']:.2f}")
        return 0
    if args.command == "evaluate":
        from multiemo.evaluation.evaluate import evaluate_run

        metrics = evaluate_run(args.run_dir, splits=(args.split,))
        print(json.dumps(metrics[args.split], indent=2))
        return 0
    if args.command == "predict":
        from multiemo.predict import predict
        from multiemo.settings import parse_overrides

        if args.transcript and not args.video:
            raise InputError("--transcript goes with --video; a manifest carries its own text")
        overrides = parse_overrides(args.settings)
        segmentation = overrides.pop("segmentation", None)
        if args.revision and not args.model:
            raise InputError("--revision goes with --model")
        source = args.run
        if args.model:
            from multiemo.predict.trained import from_export, resolve_pretrained

            source = from_export(resolve_pretrained(args.model, revision=args.revision))
        diarization, asr = overrides.pop("diarization", None), overrides.pop("asr", None)
        result = predict(source, args.out, video=args.video, transcript=args.transcript,
                         manifest=args.manifest, device=args.device, overrides=overrides,
                         segmentation=segmentation, diarization=diarization, asr=asr, progress=not args.quiet,
                         **({} if args.low_confidence is None else {"low_confidence": args.low_confidence}))
        table = result.table
        used = ", ".join(f"{m} {int(table[f'{m}_present'].sum())}/{len(table)}"
                         for m in result.info["modalities"])
        fallbacks = {f"{stage}.{status}": n for stage, counts in result.counts.items()
                     for status, n in counts.items() if status != "ok" and n}
        print(f"wrote {args.out}: {len(table)} utterances; modalities used: {used}"
              + (f"; fallbacks: {fallbacks}" if fallbacks else ""))
        return 0
    if args.command == "export":
        from multiemo.predict.export import export_run

        print(f"wrote {export_run(args.run_dir, args.out_dir)}")
        return 0
    if args.command == "import-features":
        from multiemo.data.import_features import import_features

        sources = {}
        for item in args.sources:
            modality, sep, path = item.partition("=")
            if not sep or not modality.isidentifier() or not path:
                raise InputError(f"--features {item!r}: write MODALITY=FILE, e.g. text=text.npy")
            if modality in sources:
                raise InputError(f"--features gives {modality!r} twice")
            sources[modality] = path
        labels = [label.strip() for label in args.labels.split(",")] if args.labels else None
        store = import_features(args.manifest, sources, args.out_dir, labels=labels, name=args.name,
                                validation_fraction=args.validation_fraction, seed=args.seed)
        missing = {m: n for m, n in store.metadata["missing"].items() if n}
        print(f"wrote {store}; validation: {store.metadata['validation_split']}"
              + (f"; utterances without features (present = False): {missing}" if missing else ""))
        return 0
    if args.command == "import-legacy":
        from multiemo.data.legacy import import_legacy

        store = import_legacy(args.dataset, args.src, args.out_dir, format=args.format, seed=args.seed)
        print(f"wrote {store}")
        return 0
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
