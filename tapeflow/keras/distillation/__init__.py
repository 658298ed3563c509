"""`keras.distillation`: knowledge distillation, a student model trained to match a teacher."""

from tapeflow.keras.distillation.distillation_loss import DistillationLoss, FeatureDistillation, LogitsDistillation
from tapeflow.keras.distillation.distiller import Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
