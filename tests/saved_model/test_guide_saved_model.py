"""The TF guide "Using the SavedModel format" with only the import changed.

The cells run in order (tensorflow/docs site/en/guide/saved_model.ipynb). Left out: the
MobileNet cells (they download ImageNet weights and labels from the internet, and
`keras.applications` is not provided), the `!ls` / `saved_model_cli` shell cells and the C++
section. The printed values are TF 2.21's.
"""

from __future__ import annotations

import os

import tapeflow as tf


class CustomModule(tf.Module):
    def __init__(self):
        super(CustomModule, self).__init__()  # noqa: UP008 - as the guide writes it
        self.v = tf.Variable(1.)

    @tf.function
    def __call__(self, x):
        print('Tracing with', x)
        return x * self.v

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def mutate(self, new_v):
        self.v.assign(new_v)


class CustomModuleWithOutputName(tf.Module):
    def __init__(self):
        super(CustomModuleWithOutputName, self).__init__()  # noqa: UP008
        self.v = tf.Variable(1.)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def __call__(self, x):
        return {'custom_output_name': x * self.v}


def test_saved_model_guide(tmp_path, capsys):
    tmpdir = str(tmp_path)
    module = CustomModule()
    module_no_signatures_path = os.path.join(tmpdir, 'module_no_signatures')
    module(tf.constant(0.))
    print('Saving model...')
    tf.saved_model.save(module, module_no_signatures_path)
    assert capsys.readouterr().out.startswith('Tracing with Tensor("x:0", shape=(), dtype=float32)\nSaving model...\n')

    imported = tf.saved_model.load(module_no_signatures_path)
    assert imported(tf.constant(3.)).numpy() == 3
    imported.mutate(tf.constant(2.))
    assert imported(tf.constant(3.)).numpy() == 6

    optimizer = tf.keras.optimizers.SGD(0.05)

    def train_step():
        with tf.GradientTape() as tape:
            loss = (10. - imported(tf.constant(2.))) ** 2
        variables = tape.watched_variables()
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    for _ in range(10):
        # "v" approaches 5, "loss" approaches 0
        print("loss={:.2f} v={:.2f}".format(train_step(), imported.v.numpy()))  # noqa: UP032
    assert capsys.readouterr().out.splitlines() == [
        "loss=36.00 v=3.20", "loss=12.96 v=3.92", "loss=4.67 v=4.35", "loss=1.68 v=4.61", "loss=0.60 v=4.77",
        "loss=0.22 v=4.86", "loss=0.08 v=4.92", "loss=0.03 v=4.95", "loss=0.01 v=4.97", "loss=0.00 v=4.98"]

    assert len(imported.signatures) == 0

    module_with_signature_path = os.path.join(tmpdir, 'module_with_signature')
    call = module.__call__.get_concrete_function(tf.TensorSpec(None, tf.float32))
    tf.saved_model.save(module, module_with_signature_path, signatures=call)
    imported_with_signatures = tf.saved_model.load(module_with_signature_path)
    assert list(imported_with_signatures.signatures.keys()) == ["serving_default"]

    module_multiple_signatures_path = os.path.join(tmpdir, 'module_with_multiple_signatures')
    signatures = {"serving_default": call,
                  "array_input": module.__call__.get_concrete_function(tf.TensorSpec([None], tf.float32))}
    tf.saved_model.save(module, module_multiple_signatures_path, signatures=signatures)
    imported_with_multiple_signatures = tf.saved_model.load(module_multiple_signatures_path)
    assert list(imported_with_multiple_signatures.signatures.keys()) == ["serving_default", "array_input"]
    out = imported_with_multiple_signatures.signatures["array_input"](x=tf.constant([1.0, 2.0]))
    assert out["output_0"].numpy().tolist() == [1.0, 2.0]  # `mutate` ran on the imported copy only

    module_output = CustomModuleWithOutputName()
    call_output = module_output.__call__.get_concrete_function(tf.TensorSpec(None, tf.float32))
    module_output_path = os.path.join(tmpdir, 'module_with_output_name')
    tf.saved_model.save(module_output, module_output_path, signatures={'serving_default': call_output})
    imported_with_output_name = tf.saved_model.load(module_output_path)
    outputs = imported_with_output_name.signatures['serving_default'].structured_outputs
    assert list(outputs) == ['custom_output_name']
    assert outputs['custom_output_name'].dtype == tf.float32 and outputs['custom_output_name'].name == (
        'custom_output_name')

