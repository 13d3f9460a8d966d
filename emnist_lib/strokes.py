"""Pen trajectories for synthetic handwriting: hand-printed allographs and Hershey fonts.

A character is a list of strokes, each an ``(N, 2)`` float array of pen
positions in glyph units (x to the right, y down, capitals and digits 10 units
tall). Two sources supply them:

* :data:`ALLOGRAPHS`, our own table of how people hand-print each character,
  with several allographs where writers differ (open and closed 4, one- and
  two-stroke 1, 7 with and without a bar, single- and double-storey a and g,
  ...). Entries are control points written ``x,y``; a stroke is smoothed by a
  cubic spline through its points, ``*`` after a point makes it a corner, and
  ``|`` starts a new stroke (pen lifted). They were drawn from the common
  letterforms of hand-printing, not traced from any dataset image.
* the single-stroke Hershey vector fonts of the ``Hershey-Fonts`` package.

A bad table entry (unparsable, fewer than two points, not finite) or a
character a Hershey font lacks is skipped with one warning naming it; a
character left with no trajectory at all is an error, since its class could
not be drawn.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy.interpolate import CubicSpline

# Glyph units: caps and digits span y 0..10; lowercase x-height 4..10, descenders to ~13.5.
ALLOGRAPHS: dict[str, tuple[str, ...]] = {
    "0": ("3.3,0 1.1,1.2 0,5 1.1,8.8 3.3,10 5.5,8.8 6.6,5 5.5,1.2 3.3,0 2.53,0.4",
          "3.85,0 1.76,1 0.66,5 1.54,9 3.3,10 5.06,9 5.94,5 5.5,1.2 3.85,0",
          "3.08,0.5 5.06,0.2 6.38,2.5 6.38,6.5 4.95,9.5 2.75,10 0.66,8.5 0.22,4.5 1.65,1.2 3.85,0",
          "3.3,0 1.32,0.8 0.22,4 0.66,8 2.64,10 4.62,9.6 5.94,6.5 5.94,3 4.84,0.8 2.86,0 1.98,0.6",
          "2.86,0.4 4.84,0 6.38,2 6.16,6 4.4,9.4 2.2,10 0.44,8.4 0.44,4.6 1.98,1.2",
          "4.4,0.6 2.6,0 1,1.2 0.2,4.5 0.8,8.4 2.8,10 4.8,9 5.8,5.5 5.4,2 4,0.2 2.4,0.8",
          "3.8,0 1.6,0.8 0.4,4 0.6,7.8 2.4,10 4.6,9.4 5.8,6 5.6,2.4 4.2,0.4 2.8,0.2 1.6,1.2 1.4,2",
          "4.5,0 1.5,1 0,4.5 1,8.5 4.5,10 8,8.5 9,5 7.5,1.2 4.5,0 3.5,0.4",
          "6,0 2.5,0.8 0.2,4.5 0.6,8.6 3.5,10 7,9 9,5.5 8.6,1.6 6,0 4.8,0.4",
          "5,0.2 2,0.6 0.2,3.5 0.4,7.5 3,10 6.5,9.6 8.4,6.5 8,2.4 5.5,0 3.8,0.6"),
    "1": ("3,0 3,10",
          "1.2,2.2 3,0* 3,10",
          "1.2,2 3,0* 3,10 | 1.2,10 4.8,10",
          "3.4,0 3.1,5 2.7,10",
          "4,0 1.8,10",
          "2,1.5 3.6,0* 2.4,10"),
    "2": ("0.661,2.5 2.12,0.5 4.62,0 7.14,1 7.67,3 6.35,5.2 3.31,7.6 0,10* 7.93,10",
          "0.661,2.2 2.64,0.3 5.29,0 7.27,1.3 7.14,3.5 4.62,6.5 1.59,9.3 0.529,9.9 0.793,8.8 2.64,8.9 5.29,9.8 7.93,9.8",
          "0.397,2 2.64,0 5.95,0.3 7.41,2 6.08,4.6 0.529,9.8 3.97,9.4 7.93,10",
          "1.06,2 3.17,0.2 5.82,0.2 7.14,1.8 6.08,4.2 2.91,7.2 0.265,10* 3.97,9.6 7.93,9.8",
          "0.265,1.8 2.64,0 5.55,0 7.41,1.6 6.61,4 0.529,10* 7.93,10",
          "1.32,1.5 3.97,0 6.61,0.8 6.88,3 3.97,6 0.661,9.5 0.529,10* 3.31,9.2 7.93,10.2",
          "0.6,2 2,0.2 4.4,0 6.4,1.2 6.4,3.4 4.6,6 2.2,8.4 0.8,10* 7.2,9.8 | 2.4,7.4 0.6,8.4 0.5,9.8 2,10.3 3.6,9.4 3.2,7.8 2,7.6",
          "1,1.6 3,0 5.4,0.4 6.4,2.2 5.4,4.8 3,7.4 1.2,9.4 1,10* 4,9.6 7,10 | 3,7 1,7.8 0.4,9.4 1.6,10.4 3.4,10 4,8.4 3,7",
          "0.4,2.4 2,0.4 4.6,0 6.6,1.4 6,4 3.6,6.8 1.4,8.8 0.6,10* 3.6,9.8 7,9.4 | 2.8,7.2 1,7.6 0.2,9 1.2,10.2 3.2,9.8 3.8,8.2 2.8,7.2",
          "0.529,2.8 1.85,0.6 4.5,0 6.88,0.8 7.14,3 3.97,6.5 1.06,9.4 0.793,10 2.64,9.6 4.5,9.8 6.08,10 7.93,9.4"),
    "3": ("0.5,1.5 2.5,0 4.5,0.3 5.5,2 4.5,4 2.5,4.8* 5,5.5 6,7.5 5,9.5 3,10 0.5,9",
          "0.5,0 5.5,0* 2.5,4* 5,5 6,7.5 5,9.5 3,10 0.5,9",
          "0.5,1.5 3,0 5,1 5,3 3.2,4.6 2.5,5 3.2,5.1 5.5,6 6,8 4.5,9.8 2,10 0.3,8.8",
          "0.8,1.2 2.8,0 4.8,0.6 5.2,2.4 3.8,4.2 2,4.8* 4.4,5.4 5.6,7.2 4.8,9.4 2.6,10 0.4,9.2",
          "0.3,0.8 2.5,0 4.6,0.4 5,2 3.2,4.4* 5.2,5.6 5.8,7.8 4.4,9.6 2,10 0.2,9.2"),
    "4": ("1,0 0.3,6* 6,6 | 4.5,0.5 4.6,10",
          "4.5,0 0,6.5* 6,6.5 | 4.5,0 4.5,10",
          "2,0 0,6* 6,5.8 | 5,1.5 4.5,10",
          "4.5,10 4.5,0* 0,6.5* 6,6.5",
          "3.5,0 0.5,6.2* 5.8,6.2 | 4.5,3 4.3,10",
          "0.8,0 0.4,3.5 1.2,5.6 6,5.4 | 5,0.5 5.2,10",
          "2.5,0 0,5.8* 6,5.6 | 4.2,2.2 3.8,10",
          "2.8,0 0.2,5.5 1.5,6 6,5.5 | 4.8,0 4.6,10",
          "1.5,0 0.2,5 2,5.6 5.8,5.2 | 5,0.2 4.4,10"),
    "5": ("1.2,0.2 0.6,4.5* 3.6,3.8 6.24,4.8 7.2,7 6,9.3 3.36,10 0.36,9 | 1.2,0.2 6.6,0",
          "6.6,0 1.2,0* 0.6,4.5* 3.6,3.8 6.24,4.8 7.2,7 6,9.3 3.36,10 0.36,9",
          "1.44,0 0.96,4.8* 4.2,4.3 6.6,5.6 6.72,8 5.04,9.7 2.4,10 0.48,9.2 | 1.44,0 6.6,0.2",
          "1.8,0 0.96,4.2* 3.36,3.8 5.76,4.6 6.72,6.8 5.76,9.2 3.12,10 0.48,9.4 | 1.8,0 6,0",
          "6,0 1.68,0.2* 0.72,4.5 2.4,4 5.28,4.4 6.96,6.6 6,9 3.36,10 0.24,8.8",
          "1.44,0 0.96,2.5 1.2,4.5 3.6,4 6,5 6.6,7.5 5.4,9.5 3,10 0.6,9.3 | 1.44,0 6.6,-0.2",
          "6,0 2.16,0.3 1.44,4 4.56,4.2 6.48,6 6,8.8 3.6,10 0.72,9.5",
          "1.92,0 1.44,3.6 3.12,3.4 5.52,4.4 6,7 4.56,9.4 1.92,10 0,9 | 1.92,0.2 7.2,0"),
    "6": ("5,0.3 3,0 1.2,2 0.2,5.5 0.5,8.5 2.5,10 4.5,9.6 5.8,7.8 5.2,5.6 3,4.8 1,5.8 0.4,7",
          "4.5,0 2,3 0.5,6.5 1,9 3,10 5,9 5.5,7 4,5.5 2,5.8 0.5,7.5",
          "5.5,0.8 4,0 2,0.6 0.6,3 0.2,6.5 1,9.2 3,10 5,9.3 5.6,7.2 4.3,5.5 2.2,5.4 0.4,6.6",
          "5,0 3.2,2.5 1.4,5.5 0.6,8 1.5,9.8 3.2,10 4.6,9 4.8,7.4 3.6,6.3 1.8,6.5 0.8,7.8",
          "4.2,0 2.5,3 1,6.5 1,9 2.6,10 4.3,9.5 5,8 4.2,6.8 2.5,6.8 1.2,8",
          "5.5,0.5 2.5,2.5 0.6,6 0.6,8.8 2.4,10 4.5,9.6 5.5,8 4.8,6.2 2.8,5.8 0.8,7.2"),
    "7": ("0,0 6,0* 3.5,10",
          "0,0.5 6,0* 3.5,10 | 2.5,5 6,5",
          "0,0.5 6,0* 4.5,4 4,7.5 4,10",
          "0,1.5 0.2,0* 6,0* 3.2,10",
          "0,0.4 5.6,0* 3.5,4.5 2.2,10",
          "0,0 6,0.4* 1.5,10 | 1.2,5.2 4.6,5",
          "0,0.8 2,0.2 6,0* 4.5,3.5 3.6,7 3.4,10",
          "0.4,0 6.5,0.3* 5,3 3,10",
          "0,0 2.5,0.4 6,0* 5.2,4 4.6,10"),
    "8": ("5,1 3,0 1,0.8 0.8,2.8 3,4.8 5.5,7 5,9.5 3,10 0.8,9.3 0.5,7 3,4.8 5,3 5.3,1.2 4.5,0.4",
          "3,0 1,1 1,3.5 3,4.5 5,3.5 5,1 3,0 | 3,4.5 0.5,6 0.5,9 3,10 5.5,9 5.5,6 3,4.5",
          "4.8,0.8 3,0 1.2,0.6 1,2.5 2.5,4 4.5,5.2 5.6,7.5 4.5,9.6 2.5,10 0.6,8.8 0.8,6.5 2.5,5 4.5,3.6 5,1.6 4.2,0.3",
          "5,1 3,0 1,1 1.5,3 4,5.5 5,8 3.5,10 1,9 1,7 3,5 4.5,2.5 4.5,0.5",
          "4.5,0.8 3,0 1.5,0.5 1.2,2.2 2.8,3.8 | 2.8,3.8 4.6,2.2 4.5,0.8 | 2.8,3.8 0.8,6 0.6,8.6 2.6,10 4.8,9.2 5.2,7 2.8,3.8",
          "5.5,0.5 3.5,0 1.5,0.6 1.6,2.8 3.5,4.5 5,6.5 4.8,9 3,10 1.2,9.4 1.2,7.2 2.6,5.5 4.6,3.6 5.5,0.5",
          "4.6,1.2 3.2,0 1.8,0.6 2,2.4 3.4,3.8 | 3.4,3.8 4.8,2.4 4.6,1.2 | 3.4,3.8 1,5.6 0.4,8.4 2,10 4.4,9.6 5.4,7.4 3.4,3.8",
          "5,0.6 3,0 1.4,1 2,3 4.6,5 5.8,7.6 4.8,9.8 2.4,10 0.6,8.6 1.4,6.4 3.6,4.6 5.4,2.2 5,0.6"),
    "9": ("5.5,2 4,0.2 2,0.1 0.5,1.5 0.5,3.5 2,4.8 4,4.5 5.5,2.5 | 5.6,0.8 5.4,10",
          "5.5,1.5 3.5,0 1.2,0.5 0.3,2.5 1,4.5 3,5 5,4 5.5,1.5* 5.5,6 4.5,9 2.5,10 0.8,9.3",
          "5.5,1.2 3.5,0 1.2,0.5 0.3,2.5 1.2,4.3 3.2,4.6 5.2,3.4 5.5,1.2* 3.5,10",
          "5.2,1.5 3.5,0.2 1.5,0.6 0.8,2.6 2,4 4.2,3.6 5.2,1.5* 4.5,6 3,10",
          "4.8,0.5 2.5,0 0.8,1.3 1,3.4 3,4 5,2.5 4.8,0.5* 5,10",
          "5.4,2 4.2,0.2 2,0.2 0.6,2 1.4,4.2 3.6,4.6 5.4,2 5.4,6 5,10",
          "5,1 3.2,0 1.2,0.6 0.6,2.4 1.6,3.8 3.6,3.8 5.2,2.2 | 5.4,0.4 5.2,5 4.6,10",
          "4.6,0.6 2.8,0 1,0.8 0.6,2.6 1.8,3.6 3.8,3.4 4.8,1.6 5,4 4.8,10",
          "5.2,0.2 3,0.1 1,0.8 0.4,2.8 1.6,4.4 4,4 5.2,0.2* 5.6,4 5.4,7.5 4.4,10"),
    "A": ("0,10 3,0* 6,10 | 1.2,6.5 4.8,6.5",
          "0,10 2.5,0* 3.5,0* 6,10 | 1,6 5,6"),
    "B": ("0,0 0,10 | 0,0 3.5,0 5,1 5,3.5 3.5,5 0,5* 4,5 5.5,6.5 5.5,8.5 4,10 0,10",
          "0,10 0,0* 3.5,0 5,1.2 5,3.6 3.5,5 1,5* 4,5 5.5,6.5 5.5,8.5 4,10 0,10"),
    "C": ("6,1.5 4,0 2,0.3 0.4,2.5 0,5 0.4,7.5 2,9.7 4,10 6,8.5",
          "5.5,0.5 3.5,0 1.2,1.2 0,4.5 0.6,8 2.8,10 5.8,9.5"),
    "D": ("0,0 0,10 | 0,0 3,0 5,1.5 6,5 5,8.5 3,10 0,10",
          "0,10 0,0* 3,0 5.5,2 6,5 5.5,8 3,10 0,10"),
    "E": ("5.5,0 0,0* 0,10* 5.5,10 | 0,5 4.5,5",
          "0,0 0,10 | 0,0 5.5,0 | 0,5 4,5 | 0,10 5.5,10",
          "5.5,0.6 3,0 1,0.6 0.6,2.5 2,4.4 3.8,4.8* 1.4,5.4 0,7.4 1,9.6 3,10 5.6,9.3"),
    "F": ("5.5,0 0,0* 0,10 | 0,5 4.5,5",
          "0,0 0,10 | 0,0 5.5,0 | 0,4.8 4,4.8"),
    "G": ("6,1.5 4,0 2,0.3 0.4,2.5 0,5 0.4,7.5 2,9.7 4,10 6,8.5 6,5.5* 3.5,5.5",
          "6,1.5 4,0 2,0.3 0.4,2.5 0,5 0.4,7.5 2,9.7 4,10 5.8,9 6,6.5* 3.5,6.5 | 6,6.5 6,10.5"),
    "H": ("0,0 0,10 | 6,0 6,10 | 0,5 6,5",
          "0,0 0,10 | 0,5.2 6,4.8 | 6,0 6,10"),
    "I": ("3,0 3,10",
          "3,0 3,10 | 0.5,0 5.5,0 | 0.5,10 5.5,10"),
    "J": ("5,0 5,7.5 4,9.5 2.5,10 1,9.5 0,7.5",
          "2,0 7,0 | 5,0 5,7.5 4,9.5 2.5,10 1,9.5 0,7.5"),
    "K": ("0,0 0,10 | 5.5,0 0,5.5* 5.5,10",
          "0,0 0,10 | 5.5,0 0,5.2 | 2,4 5.5,10"),
    "L": ("0,0 0,10* 5,10",
          "0,0 0,10 | 0,10 5,10"),
    "M": ("0,10 0,0* 3.5,7* 7,0* 7,10",
          "0,10 1,0* 3.5,6* 6,0* 7,10"),
    "N": ("0,10 0,0* 6,10* 6,0",
          "0,0 0,10 | 0,0 6,10 | 6,10 6,0"),
    "O": ("3,0 1,1.2 0,5 1,8.8 3,10 5,8.8 6,5 5,1.2 3,0 2.3,0.4",
          "3.5,0 1.2,0.8 0,4.5 0.8,8.5 3.5,10 6,8.8 7,5 6,1.5 3.5,0"),
    "P": ("0,10 0,0* 3.5,0 5.5,1.2 5.5,3.8 3.5,5 0,5",
          "0,0 0,10 | 0,0 3.5,0 5.5,1.3 5.5,3.7 3.5,5 0,5"),
    "Q": ("3,0 1,1.2 0,5 1,8.8 3,10 5,8.8 6,5 5,1.2 3,0 2.3,0.4 | 3.5,7.5 6.5,10.5",
          "3,0 1,1.2 0,5 1,8.8 3,10 5,8.8 6,5 5,1.2 3,0 2.3,0.4 | 4.5,9 6,10.5"),
    "R": ("0,10 0,0* 3.5,0 5.5,1.2 5.5,3.8 3.5,5 0,5* 5.5,10",
          "0,0 0,10 | 0,0 3.5,0 5.5,1.3 5.5,3.7 3.5,5 0,5 | 2.5,5 5.5,10"),
    "S": ("5.5,1.2 3.5,0 1.5,0.2 0.3,1.8 0.8,3.8 3,5 5.2,6.2 5.7,8.3 4.2,9.8 2,10 0,8.8",),
    "T": ("0,0 6,0 | 3,0 3,10",
          "0,0.3 6,0 | 3.1,0 2.9,10"),
    "U": ("0,0 0,7 1,9.3 3,10 5,9.3 6,7 6,0",
          "0,0 0,7 1,9.3 3,10 5,9.3 6,7 6,0* 6,10"),
    "V": ("0,0 3,10* 6,0",
          "0,0 1.5,7.5 3,10 4.5,7.5 6,0"),
    "W": ("0,0 2,10* 4,3* 6,10* 8,0",
          "0,0 1.5,10* 4,0* 6.5,10* 8,0",
          "0,0 1,8 2,10 3.2,8 4,4* 4.8,8 6,10 7,8 8,0"),
    "X": ("0,0 6,10 | 6,0 0,10",),
    "Y": ("0,0 3,5* 6,0 | 3,5 3,10",
          "0,0 3,5 | 6,0 0.5,10"),
    "Z": ("0,0 6,0* 0,10* 6,10",
          "0,0 6,0* 0,10* 6,10 | 1.5,5 4.5,5"),
    "a": ("0.88,5 2.75,4 4.95,4.3 5.5,6 5.5,10 | 5.5,6.8 2.2,6.8 0.22,8 0.77,9.7 2.75,10 5.5,8.5",
          "5.5,5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.18,9.5 5.5,7.5 5.5,4* 5.5,9 6.16,10",
          "5.5,5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.18,9.5 5.5,7.5 | 5.5,4 5.5,10",
          "5.5,5 3.74,4 1.54,4.4 0.22,6.6 0.66,9.2 2.42,10 4.4,9.2 5.5,7 5.72,4.2* 5.72,8.6 6.16,9.8 7.04,10",
          "6.16,4.6 3.96,4 1.32,4.6 0,7 0.88,9.6 2.86,10 5.06,9 6.16,6.4 6.16,4* 6.38,10",
          "6.6,5.2 4.4,4 1.76,4.4 0.22,6.8 0.88,9.4 2.86,10 4.84,9 6.38,6.8 | 6.6,4.2 6.38,8.4 7.26,10"),
    "b": ("0,0 0,10 | 0,6.5 2.2,4.3 4.4,4.2 5.83,6 5.83,8.5 4.4,9.9 2.2,10 0,8.8",
          "0,0 0,10* 0,8.8 2.2,10 4.4,9.9 5.83,8.5 5.83,6 4.4,4.2 2.2,4.3 0,6.5"),
    "c": ("5.5,5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.4,9.8 5.5,9",),
    "d": ("5.5,5.5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.18,9.5 5.5,7.5 | 5.5,0 5.5,10",
          "5.5,5.5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.18,9.5 5.5,7.5 5.5,0* 5.5,9.5 6.16,10"),
    "e": ("0.33,7 5.5,7 5.28,5 3.3,4 1.1,4.5 0,7 0.66,9.2 2.75,10 5.17,9.4",),
    "f": ("4.5,0.5 3.2,0 2,0.5 1.6,2.5 1.6,10 | 0,4.5 3.8,4.5",
          "1.8,0 1.8,10 | 1.8,0 4.5,0 | 0,4.5 3.5,4.5"),
    "g": ("5.5,5 3.85,4 1.65,4.3 0.22,6.5 0.55,8.8 2.2,9.6 4.18,9.2 5.5,7.2 | 5.5,4 5.5,12 4.4,13.3 2.2,13.5 0.55,12.5",
          "5.5,5 3.85,4 1.65,4.3 0.22,6 1.1,7.7 3.3,8 5.5,6.5 5.5,4* 5.5,11.5 3.85,13.5 1.1,13",
          "4.95,5.5 2.75,4 1.1,4.8 1.1,6.8 2.75,7.8 4.4,6.8 4.4,4.8 | 4.4,4.8 6.05,4 | 1.65,7.5 0.88,8.5 2.2,9.2 "
          "4.95,9.5 6.05,11 4.95,13.2 2.2,13.5 0,12.5 0.33,10.5 2.2,9.2"),
    "h": ("0,0 0,10 | 0,6.5 2.2,4.3 4.4,4.2 5.72,5.5 5.72,10",
          "0,0 0,10* 0,6.5 2.2,4.3 4.4,4.2 5.72,5.5 5.72,10"),
    "i": ("2,4 2,10 | 2,1.6 2,2",),
    "j": ("3,4 3,12 2,13.4 0,13 | 3,1.6 3,2",
          "3,4 3,11.5 2,13.4 0,12.8"),
    "k": ("0,0 0,10 | 4.95,4 0,7.5* 5.5,10",
          "0,0 0,10 | 4.95,4 0,7 | 1.65,6.5 5.5,10"),
    "l": ("2,0 2,10",
          "2,0 2,9 2.8,10 3.5,9.8",
          "2.6,0 1.4,10"),
    "m": ("0,4 0,10 | 0,5.5 1.65,4.2 3.3,4.5 3.85,6 3.85,10 | 3.85,5.7 5.5,4.2 7.15,4.5 7.7,6 7.7,10",
          "0,4 0,10* 0,5.5 1.65,4.2 3.3,4.5 3.85,6 3.85,10* 3.85,5.7 5.5,4.2 7.15,4.5 7.7,6 7.7,10"),
    "n": ("0,4 0,10 | 0,5.5 1.98,4.2 4.18,4.3 5.5,5.8 5.5,10",
          "0,4 0,10* 0,5.5 1.98,4.2 4.18,4.3 5.5,5.8 5.5,10"),
    "o": ("3.3,4 1.1,4.6 0,7 1.1,9.4 3.3,10 5.5,9.4 6.6,7 5.5,4.6 3.3,4 2.64,4.2",),
    "p": ("0,4 0,14 | 0,6 1.65,4.3 3.85,4 5.5,5.3 5.72,7.5 4.4,9.5 2.2,10 0,9",),
    "q": ("5.5,5.5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.18,9.5 5.5,7.5 | 5.5,4 5.5,14",
          "5.5,5.5 3.85,4 1.65,4.3 0.22,6.5 0.55,9 2.2,10 4.18,9.5 5.5,7.5 | 5.5,4 5.5,14* 6.82,13"),
    "r": ("0,4 0,10 | 0,6.5 1.65,4.5 3.3,4 4.95,4.3",
          "0,4 0,10* 0,6.5 1.65,4.5 3.3,4 4.95,4.3"),
    "s": ("4.95,4.8 3.3,4 1.32,4.2 0.55,5.5 1.65,6.8 3.85,7.3 5.06,8.5 4.4,9.7 2.2,10 0,9.3",),
    "t": ("2,1 2,9 2.8,10 4,9.7 | 0,4.3 4,4.3",
          "2,1 2,10 | 0,4.3 4,4.3"),
    "u": ("0,4 0,8 1.1,9.6 2.75,10 4.4,9.6 5.5,8 | 5.5,4 5.5,10",
          "0,4 0,8 1.1,9.6 2.75,10 4.4,9.6 5.5,8 5.5,4* 5.5,10"),
    "v": ("0,4 2.75,10* 5.5,4",
          "0,4 1.2,8.5 2.6,10 4,8.5 5.4,4"),
    "w": ("0,4 1.65,10* 3.85,5.5* 6.05,10* 7.7,4",
          "0,4 0.8,8.6 1.8,10 3,8.6 3.6,6.4* 4.2,8.6 5.4,10 6.4,8.6 7.2,4"),
    "x": ("0,4 5.5,10 | 5.5,4 0,10",),
    "y": ("0,4 2.75,10 | 5.5,4 1.65,14",
          "0,4 0,7.5 1.1,9.3 2.75,9.8 4.4,9.3 5.5,7.5 | 5.5,4 5.5,12 4.4,13.4 2.2,13.5 0.55,12.8"),
    "z": ("0,4 5.5,4* 0,10* 5.5,10",),
}

# Hershey families for synthetic EMNIST (hand-printed and hand-script single strokes);
# three print families (serif and duplex) are held out for the AlphaDigits stand-in.
HERSHEY_EMNIST = ("futural", "scripts")
HERSHEY_ALPHADIGITS = ("timesr", "futuram", "rowmand")
SAMPLES_PER_UNIT = 3.0  # points per glyph unit along a smoothed stroke
FREE_GAP = 1.0  # control points this far (glyph units) from their neighbours take the full jitter


class StrokeTableError(ValueError):
    """A stroke table entry that cannot be drawn."""


def _piece_basis(points: np.ndarray) -> np.ndarray:
    """Matrix ``B`` with ``B @ points`` a dense polyline through ``points``.

    A natural cubic spline on chord length is linear in its control points for
    fixed knots, so the basis is computed once and a jittered copy of the points
    is re-smoothed per image by one small matrix product. Two points: a straight line.
    """
    n = len(points)
    chord = np.r_[0.0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    if chord[-1] <= 0 or np.any(np.diff(chord) <= 1e-9):
        raise StrokeTableError("repeated consecutive points")
    m = max(2, int(chord[-1] * SAMPLES_PER_UNIT) + 1)
    t = np.linspace(0.0, chord[-1], m)
    if n == 2:
        w = (t / chord[-1])[:, None]
        return np.hstack([1 - w, w])
    return CubicSpline(chord, np.eye(n), bc_type="natural")(t)


def parse_allograph(spec: str) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
    """Strokes of one table entry as ``(basis, control points, freedom)`` (syntax: module docstring).

    ``basis @ control`` is the stroke's dense polyline; corners restart the spline
    but share their control point, so jittering it moves both sides. ``freedom``
    scales each point's jitter (:func:`_freedom`).
    """
    out = []
    for stroke in spec.split("|"):
        tokens = stroke.split()
        if len(tokens) < 2:
            raise StrokeTableError(f"stroke {stroke.strip()!r} has fewer than two points")
        points, corners = [], []
        for tok in tokens:
            try:
                x, y = (float(v) for v in tok.rstrip("*").split(","))
            except ValueError:
                raise StrokeTableError(f"point {tok!r} is not 'x,y'") from None
            if not (np.isfinite(x) and np.isfinite(y)):
                raise StrokeTableError(f"point {tok!r} is not finite")
            points.append((x, y))
            if tok.endswith("*") and 0 < len(points) - 1 < len(tokens) - 1:
                corners.append(len(points) - 1)
        ctrl = np.asarray(points, float)
        bounds = [0, *corners, len(ctrl) - 1]
        blocks = []
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            basis = _piece_basis(ctrl[a:b + 1])
            full = np.zeros((len(basis), len(ctrl)))
            full[:, a:b + 1] = basis
            blocks.append(full if i == 0 else full[1:])
        out.append((np.vstack(blocks), ctrl, _freedom(ctrl)))
    return tuple(out)


def _freedom(ctrl: np.ndarray) -> np.ndarray:
    """How far each control point may wander, as a fraction of the pen's point jitter.

    Points close to a neighbour (tight curves, loops) move less, so jitter bends a
    stroke without tying it in knots: the gap to the nearest neighbour over
    :data:`FREE_GAP` units, between 0.2 and 1.
    """
    gaps = np.hypot(*np.diff(ctrl, axis=0).T)
    nearest = np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf])
    return np.clip(nearest / FREE_GAP, 0.2, 1.0)[:, None]


def dense(glyph) -> list[np.ndarray]:
    """The dense polylines of a glyph given as ``(basis, control, freedom)`` triples."""
    return [c if b is None else b @ c for b, c, _ in glyph]


def _warn_once(message: str) -> None:
    warnings.warn(message, stacklevel=3)


@functools.lru_cache(maxsize=8)
def table_glyphs(chars: str, table_items: tuple | None = None) -> dict[str, tuple]:
    """``{char: (allograph, ...)}`` for ``chars`` from a table; an allograph is :func:`parse_allograph`'s.

    ``table_items`` defaults to :data:`ALLOGRAPHS` (as ``tuple(dict.items())``). A
    bad entry is skipped with one warning naming the character and the entry.
    """
    table = dict(table_items) if table_items is not None else ALLOGRAPHS
    out = {}
    for ch in chars:
        good = []
        for spec in table.get(ch, ()):
            try:
                good.append(parse_allograph(spec))
            except StrokeTableError as err:
                _warn_once(f"stroke table: skipped an allograph of {ch!r} ({err}): {spec!r}")
        if good:
            out[ch] = tuple(good)
    return out


@functools.lru_cache(maxsize=16)
def hershey_glyphs(family: str, chars: str) -> dict[str, tuple]:
    """``{char: glyph}`` of one Hershey font, scaled so capitals are 10 units tall.

    Glyphs are ``(basis, control, freedom)`` triples like the table's, with no basis:
    Hershey strokes are already dense, so their points are not jittered one by one.

    A family the package does not have, or a character it lacks, is skipped with
    one warning.
    """
    from HersheyFonts import HersheyFonts

    font = HersheyFonts()
    try:
        font.load_default_font(family)
    except Exception as err:  # noqa: BLE001 - the package raises bare exceptions for unknown names
        _warn_once(f"Hershey font {family!r} could not be loaded ({err}); it is skipped")
        return {}
    cap = np.asarray([p for s in font.strokes_for_text("H") for p in s], float)
    unit = 10.0 / max(np.ptp(cap[:, 1]), 1e-6) if len(cap) else 1.0
    out, missing = {}, []
    for ch in chars:
        strokes = [np.asarray(s, float) * unit for s in font.strokes_for_text(ch) if len(s) >= 2]
        if strokes and all(np.isfinite(s).all() for s in strokes):
            out[ch] = tuple((None, s, None) for s in strokes)
        else:
            missing.append(ch)
    if missing:
        _warn_once(f"Hershey font {family!r} lacks {''.join(missing)!r}; those characters use other sources")
    return out
