"""The TF tutorial "TFRecord and tf.train.Example" (tensorflow/docs,
site/en/tutorials/load_data/tfrecord.ipynb, Apache 2.0): its code cells with only the import
changed. Shell (`!du`) and display cells are left out, fewer observations are written, and
the two downloaded photos are replaced by JPEGs encoded here."""

from __future__ import annotations

import numpy as np

import tapeflow as tf


def _bytes_feature(value):
    """Returns a bytes_list from a string / byte."""
    if isinstance(value, type(tf.constant(0))):
        value = value.numpy()  # BytesList won't unpack a string from an EagerTensor.
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _float_feature(value):
    """Returns a float_list from a float / double."""
    return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))


def _int64_feature(value):
    """Returns an int64_list from a bool / enum / int / uint."""
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def test_feature_cells(capsys):
    print(_bytes_feature(b'test_string'))
    print(_bytes_feature(u'test_bytes'.encode('utf-8')))  # noqa: UP012, UP025 - the tutorial's line
    print(_float_feature(np.exp(1)))
    print(_int64_feature(True))
    print(_int64_feature(1))
    out = capsys.readouterr().out
    assert out == ('bytes_list {\n  value: "test_string"\n}\n\n'
                   'bytes_list {\n  value: "test_bytes"\n}\n\n'
                   'float_list {\n  value: 2.71828175\n}\n\n'
                   'int64_list {\n  value: 1\n}\n\n'
                   'int64_list {\n  value: 1\n}\n\n')
    feature = _float_feature(np.exp(1))
    assert feature.SerializeToString() == b'\x12\x06\n\x04T\xf8-@'


def test_examples_written_read_and_parsed(tmp_path, capsys):
    n_observations = 200
    feature0 = np.random.choice([False, True], n_observations)
    feature1 = np.random.randint(0, 5, n_observations)
    strings = np.array([b'cat', b'dog', b'chicken', b'horse', b'goat'])
    feature2 = strings[feature1]
    feature3 = np.random.randn(n_observations)

    @tf.py_function(Tout=tf.string)
    def serialize_example(feature0, feature1, feature2, feature3):
        feature = {
            'feature0': _int64_feature(feature0),
            'feature1': _int64_feature(feature1),
            'feature2': _bytes_feature(feature2),
            'feature3': _float_feature(feature3),
        }
        example_proto = tf.train.Example(features=tf.train.Features(feature=feature))
        return example_proto.SerializeToString()

    example_observation = [False, 4, b'goat', 0.9876]
    serialized_example = serialize_example(*example_observation)
    example_proto = tf.train.Example.FromString(serialized_example.numpy())
    assert 'key: "feature2"\n    value {\n      bytes_list {\n        value: "goat"' in str(example_proto)

    filename = str(tmp_path / 'test.tfrecord')
    with tf.io.TFRecordWriter(filename) as writer:
        for i in range(n_observations):
            example = serialize_example(feature0[i], feature1[i], feature2[i], feature3[i])
            writer.write(example.numpy())

    filenames = [filename]
    raw_dataset = tf.data.TFRecordDataset(filenames)
    for raw_record in raw_dataset.take(1):
        example = tf.train.Example()
        example.ParseFromString(raw_record.numpy())
        print(example)
    assert 'key: "feature0"' in capsys.readouterr().out

    result = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof('kind')
        result[key] = np.array(getattr(feature, kind).value)
    assert result['feature1'].tolist() == [feature1[0]] and result['feature2'].tolist() == [feature2[0]]

    for raw_record in raw_dataset.take(10):
        print(repr(raw_record))
    assert capsys.readouterr().out.count("dtype=string") == 10

    feature_description = {
        'feature0': tf.io.FixedLenFeature([], tf.int64, default_value=0),
        'feature1': tf.io.FixedLenFeature([], tf.int64, default_value=0),
        'feature2': tf.io.FixedLenFeature([], tf.string, default_value=''),
        'feature3': tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    }

    def _parse_function(example_proto):
        return tf.io.parse_single_example(example_proto, feature_description)

    parsed_dataset = raw_dataset.map(_parse_function)
    assert parsed_dataset.element_spec['feature3'] == tf.TensorSpec([], tf.float32)
    records = list(parsed_dataset)
    assert len(records) == n_observations
    assert [int(r['feature0']) for r in records] == feature0.astype(int).tolist()
    assert [r['feature2'].numpy() for r in records] == feature2.tolist()
    np.testing.assert_allclose([float(r['feature3']) for r in records], feature3, rtol=1e-6)


def test_image_cells(tmp_path):
    rng = np.random.default_rng(0)
    cat_in_snow = str(tmp_path / 'cat.jpg')
    williamsburg_bridge = str(tmp_path / 'bridge.jpg')
    for path, shape in [(cat_in_snow, (21, 32, 3)), (williamsburg_bridge, (30, 19, 3))]:
        tf.io.write_file(path, tf.io.encode_jpeg(rng.integers(0, 255, shape, dtype=np.uint8)))
    image_labels = {cat_in_snow: 0, williamsburg_bridge: 1}

    image_string = open(cat_in_snow, 'rb').read()
    label = image_labels[cat_in_snow]

    def image_example(image_string, label):
        image_shape = tf.io.decode_jpeg(image_string).shape
        feature = {
            'height': _int64_feature(image_shape[0]),
            'width': _int64_feature(image_shape[1]),
            'depth': _int64_feature(image_shape[2]),
            'label': _int64_feature(label),
            'image_raw': _bytes_feature(image_string),
        }
        return tf.train.Example(features=tf.train.Features(feature=feature))

    lines = str(image_example(image_string, label)).split('\n')[:15]
    assert lines[:6] == ['features {', '  feature {', '    key: "height"', '    value {', '      int64_list {',
                         '        value: 21']

    record_file = str(tmp_path / 'images.tfrecords')
    with tf.io.TFRecordWriter(record_file) as writer:
        for filename, label in image_labels.items():
            image_string = open(filename, 'rb').read()
            tf_example = image_example(image_string, label)
            writer.write(tf_example.SerializeToString())

    raw_image_dataset = tf.data.TFRecordDataset(record_file)
    image_feature_description = {
        'height': tf.io.FixedLenFeature([], tf.int64),
        'width': tf.io.FixedLenFeature([], tf.int64),
        'depth': tf.io.FixedLenFeature([], tf.int64),
        'label': tf.io.FixedLenFeature([], tf.int64),
        'image_raw': tf.io.FixedLenFeature([], tf.string),
    }

    def _parse_image_function(example_proto):
        return tf.io.parse_single_example(example_proto, image_feature_description)

    parsed_image_dataset = raw_image_dataset.map(_parse_image_function)
    shapes = []
    for image_features in parsed_image_dataset:
        image_raw = image_features['image_raw'].numpy()
        shapes.append(tuple(tf.io.decode_jpeg(image_raw).shape))
        assert shapes[-1] == (int(image_features['height']), int(image_features['width']), 3)
    assert shapes == [(21, 32, 3), (30, 19, 3)]
