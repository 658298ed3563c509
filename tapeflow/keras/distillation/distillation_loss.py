"""Distillation losses: how far a student's outputs (or intermediate features) are from a teacher's."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import tree


def _loss_function(item: Any) -> Any:
    if item is None:
        return None
    if isinstance(item, str):
        from tapeflow.keras import losses

        return losses.get(item)
    return item


def _sum(values: list) -> Any:
    return tf.reduce_sum(tf.stack([tf.cast(tf.convert_to_tensor(v), "float32") for v in values]))


class DistillationLoss:
    """Base class: `compute_loss(teacher_outputs, student_outputs)` returns a scalar."""

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} must define compute_loss(teacher_outputs, student_outputs).")

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        """Raise ValueError unless the two outputs have the same structure."""
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Raise ValueError when the loss cannot apply to these models (nothing to check here)."""


class FeatureDistillation(DistillationLoss):
    """Match the teacher's features: the outputs of `teacher_layer_name` / `student_layer_name`
    (or the final outputs), compared with `loss` ("mse" by default; a structure of losses for
    structured outputs, None entries skipped).
    """

    def __init__(self, loss: Any = "mse", teacher_layer_name: str | None = None,
                 student_layer_name: str | None = None) -> None:
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = tree.map_structure(_loss_function, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError("The `loss` argument in `FeatureDistillation` must contain at least one non-`None` "
                             "value.")

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        if self.teacher_layer_name is not None or self.student_layer_name is not None:
            subclassed = [role for role, model in (("teacher", teacher), ("student", student))
                          if getattr(model, "_graph_inputs", None) is None and not hasattr(model, "_stack")]
            if subclassed:
                raise ValueError(f"FeatureDistillation with specific layer names requires Functional or Sequential "
                                 f"models. The {' and '.join(subclassed)} model(s) appear to be subclassed (no "
                                 "symbolic inputs/outputs). Either use Functional/Sequential models, or use "
                                 "FeatureDistillation without layer names (to distill final outputs only), or use "
                                 "LogitsDistillation instead.")
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as e:
                    raise ValueError(f"In {role} model: {e}") from None

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except ValueError as e:
            raise ValueError(f"Loss structure mismatch. Loss structure: {self.loss!r}, Output structure: "
                             f"{tree.map_structure(lambda _: '*', teacher_outputs)!r}. Error: {e}") from None

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        def apply(loss_fn: Any, teacher: Any, student: Any) -> Any:
            return 0.0 if loss_fn is None else tf.reduce_mean(loss_fn(teacher, student))

        return _sum(tree.flatten(tree.map_structure(apply, self.loss, teacher_outputs, student_outputs)))

    def get_config(self) -> dict:
        from tapeflow.keras import losses

        return {"loss": tree.map_structure(lambda f: None if f is None else losses.serialize(f), self.loss),
                "teacher_layer_name": self.teacher_layer_name, "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config: dict) -> FeatureDistillation:
        from tapeflow.keras import losses

        config = dict(config)
        config["loss"] = tree.map_structure(lambda c: None if c is None else losses.deserialize(c), config["loss"])
        return cls(**config)


class LogitsDistillation(DistillationLoss):
    """Match the teacher's softened predictions: logits divided by `temperature`, compared with `loss`.

    With `loss=keras.losses.KLDivergence()` the loss compares the two softmaxes and is scaled by
    temperature**2 (Hinton et al.); any other loss, the default "kl_divergence" function included
    (as in Keras), is applied to the scaled logits directly.
    """

    def __init__(self, temperature: float = 3.0, loss: Any = "kl_divergence") -> None:
        self.temperature = temperature
        self.loss = tree.map_structure(_loss_function, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError("At least one loss must be non-`None`.")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(f"temperature must be a number, got {type(temperature)}")
        if temperature <= 0.0:
            raise ValueError("temperature must be positive.")

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        from tapeflow.keras import losses

        t = self.temperature
        teacher = tree.map_structure(lambda x: x / t, teacher_outputs)
        student = tree.map_structure(lambda x: x / t, student_outputs)

        def apply(loss_fn: Any, teacher_logits: Any, student_logits: Any) -> Any:
            if loss_fn is None:
                return 0.0
            # NOTE: as in Keras, only a KLDivergence *instance* compares softmaxes; the default string
            # "kl_divergence" resolves to the plain function, applied to the scaled logits.
            if isinstance(loss_fn, losses.KLDivergence):
                value = tf.reduce_mean(loss_fn(tf.nn.softmax(teacher_logits, axis=-1),
                                               tf.nn.softmax(student_logits, axis=-1)))
                return value * (t ** 2)
            return tf.reduce_mean(loss_fn(teacher_logits, student_logits))

        return _sum(tree.flatten(tree.map_structure(apply, self.loss, teacher, student)))

    def get_config(self) -> dict:
        from tapeflow.keras import losses

        return {"temperature": self.temperature,
                "loss": tree.map_structure(lambda f: None if f is None else losses.serialize(f), self.loss)}

    @classmethod
    def from_config(cls, config: dict) -> LogitsDistillation:
        from tapeflow.keras import losses

        config = dict(config)
        config["loss"] = tree.map_structure(lambda c: None if c is None else losses.deserialize(c), config["loss"])
        return cls(**config)
