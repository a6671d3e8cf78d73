"""`cnnkit evaluate MODEL`: loss and metrics of a saved model on a dataset's test split."""

import cnnkit
from cnnkit.cli._model_file import open_model
from cnnkit.cli._parser import CliError, add_device_option, add_limit_option, positive_int
from cnnkit.cli.data import DATASETS, load_dataset, targets_for


def add_parser(subparsers):
    parser = subparsers.add_parser("evaluate", help="test a saved model on a dataset's test images",
                                   description="Print a saved model's loss and metrics on the test split.")
    parser.add_argument("model", metavar="MODEL", help="a .cnnkit file (or a run folder holding model.cnnkit)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist", help="default: mnist")
    parser.add_argument("--batch-size", type=positive_int, metavar="N", default=64, help="default: 64")
    add_device_option(parser)
    add_limit_option(parser)
    parser.set_defaults(run=run)


def run(args):
    if args.device:
        cnnkit.set_device(args.device)
    model = open_model(args.model)
    if model.loss is None:
        raise CliError(f"model '{args.model}' was saved without compile settings (no loss, no metrics), which "
                       "evaluate needs: call model.compile(loss=..., metrics=[...]) before model.save()")
    _, (x_test, y_test) = load_dataset(args.dataset, args.limit)
    scores = model.evaluate(x_test, targets_for(model, y_test), batch_size=args.batch_size, return_dict=True)
    print(f"Test ({args.dataset}, {len(x_test):,} images) "
          + ", ".join(f"{name}: {value:.4f}" for name, value in scores.items()))
    return 0
