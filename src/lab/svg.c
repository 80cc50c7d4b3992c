/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <math.h>
#include <stdbool.h>

#include "lab/svg.h"

#define W 760
#define H 300
#define ML 64                     /* margins: room for tick labels */
#define MR 150                    /* and the legend */
#define MT 28
#define MB 40

static const char *const colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
};

void svg_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

double svg_tick_step(double span, unsigned n)
{
	if (!(span > 0) || n == 0)
		return 1;
	double raw = span / n;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	double step = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
	return step * mag;
}

/* Bucket means, so a long run stays a small file. */
static size_t points(const struct svg_series *s, double x0, double dx, double *xs, double *ys)
{
	size_t per = (s->n + SVG_MAX_POINTS - 1) / SVG_MAX_POINTS;
	if (per == 0)
		per = 1;
	size_t k = 0;
	for (size_t i = 0; i < s->n; i += per) {
		size_t end = i + per < s->n ? i + per : s->n;
		double sum = 0;
		for (size_t j = i; j < end; j++)
			sum += s->y[j];
		xs[k] = x0 + dx * (double)(i + end - 1) / 2;
		ys[k] = sum / (double)(end - i);
		k++;
	}
	return k;
}

int svg_plot_write(FILE *f, const struct svg_plot *p)
{
	double xs[SVG_MAX_POINTS + 1], ys[SVG_MAX_POINTS + 1];
	double xmin = p->x0, xmax = p->x0, ymin = p->ymin, ymax = p->ymax;
	bool auto_y = !(ymax > ymin);
	if (auto_y)
		ymin = ymax = 0;
	for (unsigned i = 0; i < p->n_series; i++) {
		const struct svg_series *s = &p->series[i];
		if (s->n && p->x0 + p->dx * (double)(s->n - 1) > xmax)
			xmax = p->x0 + p->dx * (double)(s->n - 1);
		for (size_t j = 0; auto_y && j < s->n; j++) {
			if (s->y[j] > ymax)
				ymax = s->y[j];
			if (s->y[j] < ymin)
				ymin = s->y[j];
		}
	}
	if (!(xmax > xmin))
		xmax = xmin + 1;
	if (!(ymax > ymin))
		ymax = ymin + 1;
	double pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x) - xmin) / (xmax - xmin) * pw)
#define PY(y) (MT + ph - ((y) - ymin) / (ymax - ymin) * ph)
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
		W, H, W, H);
	fputs("<title>", f);
	svg_escape(f, p->title);
	fprintf(f, "</title>\n<text x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\">", ML);
	svg_escape(f, p->title);
	fputs("</text>\n", f);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
		"stroke=\"#999\"/>\n", ML, MT, pw, ph);
	double xs_step = svg_tick_step(xmax - xmin, 8), ys_step = svg_tick_step(ymax - ymin, 5);
	for (double x = ceil(xmin / xs_step) * xs_step; x <= xmax + 1e-9; x += xs_step)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
			PX(x), (double)MT, PX(x), MT + ph, PX(x), MT + (int)ph + 14, x);
	for (double y = ceil(ymin / ys_step) * ys_step; y <= ymax + 1e-9; y += ys_step)
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			ML, PY(y), ML + pw, PY(y), ML - 4, PY(y) + 4, y);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", ML + pw / 2, H - 6);
	svg_escape(f, p->xlabel);
	fprintf(f, "</text>\n<text x=\"12\" y=\"%.1f\" transform=\"rotate(-90 12 %.1f)\" "
		"text-anchor=\"middle\">", MT + ph / 2, MT + ph / 2);
	svg_escape(f, p->ylabel);
	fputs("</text>\n", f);
	for (unsigned i = 0; i < p->n_marks; i++) {
		double x = p->marks[i].x;
		if (x < xmin || x > xmax)
			continue;
		fprintf(f, "<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#555\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\" "
			"font-size=\"10\">", PX(x), MT, PX(x), MT + ph, PX(x) + 3, MT + 10 + 11 * (int)(i % 3));
		svg_escape(f, p->marks[i].label);
		fputs("</text>\n", f);
	}
	for (unsigned i = 0; i < p->n_series; i++) {
		const struct svg_series *s = &p->series[i];
		const char *color = colors[i % (sizeof(colors) / sizeof(colors[0]))];
		size_t k = points(s, p->x0, p->dx, xs, ys);
		fprintf(f, "<polyline class=\"series\" data-name=\"");
		svg_escape(f, s->name);
		fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
		for (size_t j = 0; j < k; j++) {
			double y = ys[j] < ymin ? ymin : ys[j] > ymax ? ymax : ys[j];
			fprintf(f, "%s%.1f,%.1f", j ? " " : "", PX(xs[j]), PY(y));
		}
		fputs("\"/>\n", f);
		fprintf(f, "<rect x=\"%.0f\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
			"<text x=\"%.0f\" y=\"%d\">", ML + pw + 10, MT + 8 + 16 * (int)i, color,
			ML + pw + 26, MT + 12 + 16 * (int)i);
		svg_escape(f, s->name);
		fputs("</text>\n", f);
	}
#undef PX
#undef PY
	fputs("</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}
