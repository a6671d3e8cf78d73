"""A Functional model's computation: the nodes between its inputs and outputs, in the order
they run, found once, then run as a plain list of layer calls on real tensors.

Order, as Keras 3 gives it: each node's depth is its longest distance to an output; nodes
(and layers) run from the deepest to the shallowest, ties in the order a depth-first walk
back from the outputs first met them. That is also the order of `model.layers`.

Example:
    >>> import torch
    >>> from cnnkit import layers
    >>> inputs = layers.Input((4,), name="x")
    >>> hidden = layers.Dense(3, name="hidden")(inputs)
    >>> graph = Graph([inputs], [layers.Dense(1, name="out")(hidden)], "demo")
    >>> [layer.name for layer in graph.layers]
    ['x', 'hidden', 'out']
    >>> graph.run([torch.zeros(2, 4)], training=False)[0].shape
    torch.Size([2, 1])
"""

from cnnkit.engine import fusion
from cnnkit.layers.node import KerasTensor, flatten, pack_like


class Graph:
    """The nodes from `inputs` to `outputs` (flat lists of KerasTensors), ready to run."""

    def __init__(self, inputs, outputs, model_name):
        self.model_name = model_name
        self.inputs, self.outputs = flatten(inputs), flatten(outputs)
        for what, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            for tensor in tensors:
                if not isinstance(tensor, KerasTensor):
                    raise TypeError(
                        f"Model '{model_name}': all {what} must be symbolic tensors (from keras.Input or a layer "
                        f"called on one). Received: {tensor!r} of type {type(tensor).__name__}"
                    )
        nodes, first_seen = self._walk_back()
        depth = self._depths(nodes)
        layer_depth = {}
        for node in nodes:
            layer_depth[node.layer] = max(depth[node], layer_depth.get(node.layer, 0))
        self.layers = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_seen[layer]))
        self.nodes = sorted(nodes, key=lambda node: -depth[node])  # sorted() is stable: walk order on ties
        self._check_connected()
        self._check_unique_names()
        self.steps = self._schedule()

    # -- finding the nodes -------------------------------------------------------------
    def _walk_back(self):
        """Nodes reached from the outputs, inputs before the nodes that use them, and the
        order in which the walk first met each layer."""
        given = {id(tensor) for tensor in self.inputs}
        done, in_progress, ordered, first_seen = set(), set(), [], {}

        def visit(tensor):
            node = tensor.node
            if node in done:
                return
            if id(tensor) in given and not node.is_input:
                done.add(node)
                return
            if node in in_progress:
                raise ValueError(f"Model '{self.model_name}': tensor {tensor.name} is part of a cycle.")
            first_seen.setdefault(node.layer, len(first_seen))
            in_progress.add(node)
            if id(tensor) not in given:
                for parent in node.input_tensors:
                    visit(parent)
            in_progress.discard(node)
            done.add(node)
            ordered.append(node)

        for output in self.outputs:
            visit(output)
        return ordered, first_seen

    @staticmethod
    def _depths(nodes):
        """Each node's longest distance to an output."""
        members, depth = set(nodes), {}
        for node in reversed(nodes):
            current = depth.setdefault(node, 0)
            for parent in node.parent_nodes:
                if parent in members:
                    depth[parent] = max(depth.get(parent, 0), current + 1)
        return depth

    def _check_connected(self):
        known = {id(tensor) for tensor in self.inputs}
        for node in self.nodes:
            for tensor in node.input_tensors:
                if id(tensor) not in known:
                    raise ValueError(
                        f"Model '{self.model_name}': graph disconnected: layer '{node.layer.name}' needs tensor "
                        f"'{tensor.name}' {tensor.shape}, which does not come from the model's inputs "
                        f"{[t.name for t in self.inputs]}. Pass the keras.Input it comes from as a model input."
                    )
            known.update(id(tensor) for tensor in node.output_tensors)

    def _check_unique_names(self):
        names = [layer.name for layer in self.layers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(
                    f'The name "{name}" is used {names.count(name)} times in the model. '
                    "All layer names should be unique."
                )

    # -- running -----------------------------------------------------------------------
    def _schedule(self):
        """One `_Step` per node (a ReLU + max-pool or BatchNormalization + ReLU pair as one fused
        step), values in numbered slots."""
        slot = {}
        for tensor in self.inputs:
            slot.setdefault(id(tensor), len(slot))
        self.input_slots = [slot[id(tensor)] for tensor in self.inputs]
        runnable = [node for node in self.nodes if not node.is_input]
        for node in runnable:
            for tensor in node.output_tensors:
                slot.setdefault(id(tensor), len(slot))
        self.output_slots = [slot[id(tensor)] for tensor in self.outputs]
        self.slot_count = len(slot)
        consumers = {}
        for node in runnable:
            for tensor in node.input_tensors:
                consumers.setdefault(id(tensor), []).append(node)
        outputs = {id(tensor) for tensor in self.outputs}
        steps, fused_into = [], {}
        for node in runnable:
            if node in fused_into:
                continue
            step = _Step(node, slot)
            following = self._fusable_follower(node, consumers, outputs)
            if following is not None:
                step.fuse(_Step(following, slot))
                fused_into[following] = step
            steps.append(step)
        return steps

    @staticmethod
    def _fusable_follower(node, consumers, outputs):
        """The node that alone reads `node`'s output, where the two may run fused (`engine.fusion`)."""
        if len(node.output_tensors) != 1 or len(node.input_tensors) != 1 or node.kwargs:
            return None
        tensor = node.output_tensors[0]
        users = consumers.get(id(tensor), [])
        if id(tensor) in outputs or len(users) != 1 or users[0].kwargs:
            return None
        return users[0] if fusion.fusable(node.layer, users[0].layer) else None

    def run(self, inputs, training, final_logits=False):
        """The outputs (a list) for `inputs` (a list of tensors in input order). With
        `final_logits`, the last step gives its layer's pre-activation (see `final_layer`)."""
        values = [None] * self.slot_count
        for index, value in zip(self.input_slots, inputs):
            values[index] = value
        steps = self.steps[:-1] if final_logits else self.steps
        for step in steps:
            step.run(values, training)
        if final_logits:
            self.steps[-1].run_logits(values)
        return [values[index] for index in self.output_slots]

    def final_layer(self):
        """The layer computing the one output when it can give logits instead (exact built-in
        Dense/Conv2D/Activation, single plain call, not fused), else None."""
        if len(self.outputs) != 1 or not self.steps:
            return None
        last = self.steps[-1]
        if last.follower is not None or last.node.kwargs or last.out_slots != self.output_slots:
            return None
        return last.node.layer if fusion.gives_logits(last.node.layer) else None


class _Step:
    """One node's call: read its input slots, call its layer, write its output slots."""

    __slots__ = ("node", "layer", "in_slots", "out_slots", "single", "training", "kwargs", "follower")

    def __init__(self, node, slot):
        self.node, self.layer = node, node.layer
        self.in_slots = [slot[id(tensor)] for tensor in node.input_tensors]
        self.out_slots = [slot[id(tensor)] for tensor in node.output_tensors]
        self.training = node.kwargs.get("training")
        self.kwargs = {key: value for key, value in node.kwargs.items() if key != "training"}
        self.single = (isinstance(node.inputs, KerasTensor) and isinstance(node.outputs, KerasTensor)
                       and not self.kwargs)
        self.follower = None

    def fuse(self, follower):
        self.follower = follower
        self.out_slots = follower.out_slots

    def run(self, values, training):
        if self.training is not None:
            training = self.training
        if self.follower is not None and fusion.hook_free(self.layer, self.follower.layer):
            values[self.out_slots[0]] = fusion.run_fused(self.layer, self.follower.layer,
                                                         values[self.in_slots[0]], training)
            return
        if self.single:
            output = self.layer(values[self.in_slots[0]], training=training)
            if self.follower is not None:
                output = self.follower.layer(output, training=training)
            values[self.out_slots[0]] = output
            return
        arguments = pack_like(self.node.inputs, [values[index] for index in self.in_slots])
        outputs = flatten(self.layer(arguments, **self.kwargs, training=training))
        for index, value in zip(self.out_slots, outputs):
            values[index] = value

    def run_logits(self, values):
        values[self.out_slots[0]] = self.layer.preactivation(values[self.in_slots[0]])

