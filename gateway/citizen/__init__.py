"""The citizen's pages: home, submission (with its uploads and drafts), tracking, directory,
information pages, public statistics."""
