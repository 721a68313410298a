# SPDX-License-Identifier: GPL-2.0-or-later
# Grouped bars: one group per workload, one bar per filesystem, each value
# relative to the reference filesystem (1.0), on a log axis because FUSE
# and kernel figures can differ by more than ten times.
# Set by report.py with -e: datafile, outfile, ncols, plottitle, ylabel.

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1200,650 enhanced font "sans,10"
} else {
	set terminal png size 1200,650
}
set output outfile

set title plottitle noenhanced
set ylabel ylabel noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set yrange [0.01:*]
set grid ytics
set key top left noenhanced
set xtics rotate by -20 noenhanced
set datafile separator "\t"
set datafile missing "NaN"
set key autotitle columnheader

# Where bar i (1-based) of group x sits: with gap 1, a group is ncols + 1
# bar widths wide and centred on x.
barx(x, i) = x + (i - 1 - (ncols - 1) / 2.0) / (ncols + 1.0)

plot for [i=2:ncols+1] datafile using i:xtic(1) title columnheader(i), \
	for [i=2:ncols+1] datafile using (barx($0, i - 1)):(column(i)): \
		(sprintf("%.2f", column(i))) with labels offset 0,0.7 \
		font ",8" notitle, \
	1 with lines lc rgb "black" dt 2 notitle
