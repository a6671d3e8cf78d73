"""`cnnkit summary MODEL`: the layer table of a saved model."""

from cnnkit.cli._model_file import open_model


def add_parser(subparsers):
    parser = subparsers.add_parser("summary", help="print a saved model's layers and parameter counts",
                                   description="Print a saved model's summary table, and how it was compiled.")
    parser.add_argument("model", metavar="MODEL", help="a .cnnkit file (or a run folder holding model.cnnkit)")
    parser.set_defaults(run=run)


def run(args):
    model = open_model(args.model)
    model.summary()
    if model.optimizer is not None:
        config = model.optimizer.get_config()
        print(f"Compiled with optimizer {type(model.optimizer).__name__} "
              f"(learning_rate {config.get('learning_rate')}), loss {model.loss.name}, "
              f"metrics {model.compiled_metrics}")
    return 0
