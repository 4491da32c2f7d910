"""What supervisors read: the text and HTML reports, the plot and file exports of one call.

Only :mod:`tonekit.report.plot` uses matplotlib, and only inside its functions.
"""
from .export import to_textgrid, write_table
from .html import render_html
from .plot import plot_analysis, plot_svg
from .text import render_text

__all__ = ["render_text", "render_html", "plot_analysis", "plot_svg", "to_textgrid", "write_table"]
