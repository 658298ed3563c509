"""`tf.image`: resizing, flips and crops, color conversions and adjustments, image-quality
measures, non-max suppression and box drawing, on (H, W, C) or (N, H, W, C) images."""

from tapeflow.image.adjust import (
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_hue,
    adjust_saturation,
    random_brightness,
    random_contrast,
    random_hue,
    random_saturation,
    stateless_random_brightness,
    stateless_random_contrast,
    stateless_random_hue,
    stateless_random_saturation,
)
from tapeflow.image.boxes import (
    combined_non_max_suppression,
    draw_bounding_boxes,
    non_max_suppression,
    non_max_suppression_overlaps,
    non_max_suppression_padded,
    non_max_suppression_with_scores,
)
from tapeflow.image.codecs import (
    adjust_jpeg_quality,
    decode_and_crop_jpeg,
    decode_bmp,
    decode_gif,
    decode_webp,
    decode_image,
    decode_jpeg,
    decode_png,
    encode_jpeg,
    encode_png,
    extract_jpeg_shape,
    is_jpeg,
    random_jpeg_quality,
    stateless_random_jpeg_quality,
)
from tapeflow.image.color import (
    convert_image_dtype,
    grayscale_to_rgb,
    hsv_to_rgb,
    per_image_standardization,
    rgb_to_grayscale,
    rgb_to_hsv,
    rgb_to_yiq,
    rgb_to_yuv,
    yiq_to_rgb,
    yuv_to_rgb,
)
from tapeflow.image.distort import sample_distorted_bounding_box, stateless_sample_distorted_bounding_box
from tapeflow.image.geometry import (
    central_crop,
    crop_to_bounding_box,
    extract_patches,
    flip_left_right,
    flip_up_down,
    pad_to_bounding_box,
    random_crop,
    random_flip_left_right,
    random_flip_up_down,
    resize_with_crop_or_pad,
    rot90,
    stateless_random_crop,
    stateless_random_flip_left_right,
    stateless_random_flip_up_down,
    transpose,
)
from tapeflow.image.glimpse import extract_glimpse
from tapeflow.image.proposals import generate_bounding_box_proposals
from tapeflow.image.quality import image_gradients, psnr, sobel_edges, ssim, ssim_multiscale, total_variation
from tapeflow.image.resizing import ResizeMethod, crop_and_resize, resize, resize_with_pad

from tapeflow.io.unavailable import decode_jxl  # noqa: E402 - TF lists it under tf.image too

__all__ = [
    "ResizeMethod", "adjust_jpeg_quality", "decode_bmp", "decode_gif", "decode_jxl", "decode_webp", "decode_image",
    "decode_jpeg",
    "decode_png", "encode_jpeg", "encode_png", "extract_jpeg_shape", "is_jpeg", "random_jpeg_quality",
    "stateless_random_jpeg_quality", "adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue",
    "adjust_saturation",
    "central_crop", "combined_non_max_suppression", "convert_image_dtype", "crop_and_resize",
    "crop_to_bounding_box", "draw_bounding_boxes", "extract_patches", "flip_left_right", "flip_up_down",
    "grayscale_to_rgb", "hsv_to_rgb", "image_gradients", "non_max_suppression", "non_max_suppression_overlaps",
    "non_max_suppression_padded", "non_max_suppression_with_scores", "pad_to_bounding_box",
    "per_image_standardization", "psnr", "random_brightness", "random_contrast", "random_crop",
    "random_flip_left_right", "random_flip_up_down", "random_hue", "random_saturation", "resize",
    "resize_with_crop_or_pad", "resize_with_pad", "rgb_to_grayscale", "rgb_to_hsv", "rgb_to_yiq", "rgb_to_yuv",
    "rot90", "sobel_edges", "ssim", "ssim_multiscale", "stateless_random_brightness", "stateless_random_contrast",
    "stateless_random_crop", "stateless_random_flip_left_right", "stateless_random_flip_up_down",
    "stateless_random_hue", "stateless_random_saturation", "total_variation", "transpose", "yiq_to_rgb",
    "yuv_to_rgb", "extract_glimpse", "decode_and_crop_jpeg", "generate_bounding_box_proposals",
    "sample_distorted_bounding_box", "stateless_sample_distorted_bounding_box",
]
