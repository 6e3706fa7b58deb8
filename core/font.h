/* font.h: a small bitmap font for labels drawn into frames.
 *
 * 95 printable ASCII glyphs, 5x7 pixels (+1 row of descender) in 8x8 cells,
 * drawn for vidsift and placed in the public domain. The font only holds
 * data and measures text; annotate.c does the drawing. */
#ifndef VS_FONT_H
#define VS_FONT_H

#include <stdint.h>

#define VS_FONT_CELL 8    /* rows per glyph, and bits per row */
#define VS_FONT_ADVANCE 6 /* pixels from one glyph's left edge to the next (unscaled) */

/* The 8 rows of c's glyph, top first; bit 7 is the leftmost pixel.
 * Characters outside printable ASCII (including UTF-8 bytes) show as '?'. */
const uint8_t *vs_font_glyph(unsigned char c);
/* Width and height in pixels of text drawn at scale (1 = 8-pixel cells). */
int vs_font_text_width(const char *text, int scale);
int vs_font_text_height(int scale);

#endif
