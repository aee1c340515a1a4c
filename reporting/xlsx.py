"""The monthly report's XLSX files: the project's one XLSX writer (complaints/xlsx.py)."""

from complaints.xlsx import workbook

__all__ = ["workbook"]
