"""`Distiller`: a Model that trains a student on a mix of its own loss and distillation losses
against a frozen teacher."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import tree
from tapeflow.keras.distillation.distillation_loss import _loss_function
from tapeflow.keras.models.model import Model


def _check_shapes(a: Any, b: Any, context: str) -> None:
    a, b = tuple(a), tuple(b)
    if len(a) != len(b):
        raise ValueError(f"Teacher and student {context} shapes have different dimensions. Teacher: {a}, Student: {b}.")
    if any(x is not None and y is not None and x != y for x, y in zip(a, b, strict=True)):
        raise ValueError(f"Teacher and student {context} shapes are incompatible. Teacher: {a}, Student: {b}. All "
                         "dimensions must match.")


class Distiller(Model):
    """Train `student` to imitate `teacher` (frozen) while fitting the labels.

    The loss is `student_loss_weight * compiled loss + (1 - student_loss_weight) * sum(weight_i *
    distillation_loss_i)`; `fit` logs both parts ("student_loss", "distillation_loss") and the total.

    Args:
        teacher, student: Keras models with compatible inputs and outputs.
        distillation_losses: a `DistillationLoss` (e.g. `LogitsDistillation()`) or a list of them.
        distillation_loss_weights: one weight per distillation loss (default 1.0 each).
        student_loss_weight: in [0, 1].

    Example:
        >>> distiller = keras.distillation.Distiller(teacher, student, keras.distillation.LogitsDistillation())
        >>> distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        >>> distiller.fit(x, y)
    """

    def __init__(self, teacher: Any, student: Any, distillation_losses: Any, distillation_loss_weights: Any = None,
                 student_loss_weight: float = 0.5, name: str = "distiller", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        from tapeflow.keras import metrics

        self._validate_models(teacher, student)
        self.teacher = teacher
        self.student = student
        if isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float)):
            raise ValueError(f"student_loss_weight must be a number, got {type(student_loss_weight)}")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(f"student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}")
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError("'distillation_losses' cannot be `None`. Provide a distillation loss (e.g., "
                             "LogitsDistillation or FeatureDistillation) or a list of distillation losses.")
        if not isinstance(distillation_losses, (list, tuple)):
            distillation_losses, distillation_loss_weights = [distillation_losses], [1.0]
        elif distillation_loss_weights is None:
            distillation_loss_weights = [1.0] * len(distillation_losses)
        elif len(distillation_loss_weights) != len(distillation_losses):
            raise ValueError(f"Number of distillation_loss_weights ({len(distillation_loss_weights)}) must match "
                             f"number of distillation_losses ({len(distillation_losses)})")
        self.distillation_losses = list(distillation_losses)
        self.distillation_loss_weights = list(distillation_loss_weights)
        for loss in self.distillation_losses:
            loss.validate_model_compatibility(teacher, student)
        self._teacher_extractor = self._feature_extractor(teacher, "teacher_layer_name")
        self._student_extractor = self._feature_extractor(student, "student_layer_name")
        self.teacher.trainable = False
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")

    def _validate_models(self, teacher: Any, student: Any) -> None:
        for role, model in (("Teacher", teacher), ("Student", student)):
            if not isinstance(model, Model):
                raise ValueError(f"{role} must be a keras.Model, got {type(model)}")
        for kind in ("inputs", "outputs"):
            try:
                ours, theirs = getattr(teacher, kind), getattr(student, kind)
            except (AttributeError, ValueError):
                continue
            if ours is None or theirs is None:
                continue
            ours, theirs = tree.flatten(ours), tree.flatten(theirs)
            if len(ours) != len(theirs):
                raise ValueError(f"Teacher and student have {len(ours)} and {len(theirs)} {kind}.")
            for t, s in zip(ours, theirs, strict=True):
                _check_shapes(t.shape, s.shape, kind[:-1])
                if t.dtype != s.dtype:
                    raise ValueError(f"Teacher and student {kind[:-1]} dtypes must match. Teacher: {t.dtype.name}, "
                                     f"Student: {s.dtype.name}.")

    def _feature_extractor(self, model: Any, attribute: str) -> Any:
        names = []
        for loss in self.distillation_losses:
            name = getattr(loss, attribute, None)
            if name and name not in names:
                names.append(name)
        if not names:
            return None
        outputs = {"final_output": model.outputs[0] if len(model.outputs) == 1 else model.outputs}
        for name in names:
            outputs[name] = model.get_layer(name=name).output
        return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")

    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None, **kwargs: Any) -> None:
        """As Model.compile; `loss` (required) is the student's loss against the labels."""
        if loss is None:
            raise ValueError("'loss' cannot be `None`.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list or tuple, got {type(metrics)}")
        self._student_loss = tree.map_structure(_loss_function, loss)
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs: Any, training: Any = None) -> Any:
        return self.student(inputs, training=training)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The weighted student and distillation losses (see the class docstring)."""
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss: Any = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            values = tree.flatten(tree.map_structure(lambda fn, t, p: fn(t, p), self._student_loss, y, y_pred))
            student_loss = tf.reduce_mean(tf.add_n(values) if len(values) > 1 else values[0])
        distillation: Any = 0.0
        if self.student_loss_weight < 1.0:
            teacher_features = (self._teacher_extractor(x, training=False) if self._teacher_extractor is not None
                                else {"final_output": self.teacher(x, training=False)})
            student_features = (self._student_extractor(x, training=True) if self._student_extractor is not None
                                else {"final_output": y_pred})
            for loss_fn, weight in zip(self.distillation_losses, self.distillation_loss_weights, strict=True):
                teacher_key = getattr(loss_fn, "teacher_layer_name", None) or "final_output"
                student_key = getattr(loss_fn, "student_layer_name", None) or "final_output"
                teacher_out = teacher_features[teacher_key]
                student_out = student_features[student_key] if student_key != "final_output" else y_pred
                loss_fn.validate_outputs(teacher_out, student_out)
                value = loss_fn.compute_loss(teacher_out, student_out)
                if getattr(value, "ndim", 0):
                    raise ValueError(f"Distillation loss {type(loss_fn).__name__} returned a non-scalar loss with "
                                     f"shape {tuple(value.shape)}. The compute_loss method must return a scalar "
                                     "tensor.")
                distillation = distillation + weight * value
        total = self.student_loss_weight * student_loss + (1.0 - self.student_loss_weight) * distillation
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation)
        self.total_loss_tracker.update_state(total)
        return total

    def get_config(self) -> dict:
        from tapeflow.keras.saving.serialization import serialize_keras_object

        return {"name": self.name, "teacher": serialize_keras_object(self.teacher),
                "student": serialize_keras_object(self.student),
                "distillation_losses": [{"class_name": type(loss).__name__, "config": loss.get_config()}
                                        for loss in self.distillation_losses],
                "distillation_loss_weights": self.distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Distiller:
        from tapeflow.keras import distillation
        from tapeflow.keras.saving.serialization import deserialize_keras_object

        config = dict(config)
        config["teacher"] = deserialize_keras_object(config["teacher"], custom_objects)
        config["student"] = deserialize_keras_object(config["student"], custom_objects)
        config["distillation_losses"] = [
            getattr(distillation, c["class_name"]).from_config(c["config"]) if hasattr(distillation, c["class_name"])
            else deserialize_keras_object(c, custom_objects) for c in config["distillation_losses"]]
        return cls(**config)
