"""`keras.utils`: data helpers, progress bar, seeding, file download."""
