/*
 * cluster.h
 *		Clustering of duplicate candidates that does not chain: average-linkage
 *		agglomerative clustering of one connected component of scored pairs, with a
 *		"known different" floor that no cluster may cross.
 *
 * Similarity is not transitive: A ~ B and B ~ C does not make A ~ C.  Connected
 * components (single linkage) chain such pairs into one group of people who are not all
 * the same person; average linkage merges two groups only when their pairs agree on
 * average, and a pair scored below the floor keeps its two records apart for good.
 *
 * What is averaged is a pair's evidence, not its score: the score p is a Fellegi-Sunter
 * probability, and its evidence is its log-odds log2(p / (1 - p)) (the pair's match
 * weight), held within +-CD_CLUSTER_EVIDENCE_BITS.  Scores are nearly all close to 0 or 1,
 * so an average of scores is ruled by its lowest: three records of one person, two of them
 * typed badly, score 0.9999, 0.9999 and 0.3 and average 0.77, below a threshold of 0.9,
 * while their evidence (13.3 bits held to 10, 10 again, and -1.2 bits) averages 6.3 bits,
 * far above the 3.2 bits of 0.9.  The bound keeps one pair from outvoting the others on its own (a pair of 40 bits
 * against two of -9 bits).  The threshold is compared as evidence too, and the floor as a
 * score.
 *
 * Scores: a dense n x n row-major matrix.  Only the upper triangle (row < column) is
 * read, so the matrix need not be exactly symmetric and the diagonal and lower triangle
 * may hold anything.  A NaN entry means "never compared": it counts as a score of 0 (the
 * lowest evidence) in averages but is not a floor violation (never compared is not known
 * different).  Other values are clamped to [0,1] (so -inf counts as 0 and +inf as 1).
 *
 * Averages of evidence are compared on a scale from 0 (-CD_CLUSTER_EVIDENCE_BITS) to 1
 * (+CD_CLUSTER_EVIDENCE_BITS) after rounding to CD_CLUSTER_RESOLUTION (1e-9), so averages
 * that differ only by floating-point rounding of equal scores are ties, and an average
 * that equals the threshold up to rounding reaches it.  Ties are broken by node index.
 */
#ifndef CD_CLUSTER_H
#define CD_CLUSTER_H

#include "cd_buf.h"

/* largest component cd_cluster_average_linkage() accepts */
#define CD_CLUSTER_MAX_NODES 2000

/* components of up to this many nodes are clustered without calling the allocator */
#define CD_CLUSTER_LOCAL_NODES 32

/* averages and thresholds are compared in steps of this size */
#define CD_CLUSTER_RESOLUTION 1e-9

/*
 * A pair's evidence counts at most this many bits either way: beyond odds of about
 * 1,000 to 1 a pair is as sure as it gets (a score of 0.999 or more, 0.001 or less).
 */
#define CD_CLUSTER_EVIDENCE_BITS 10.0

/*
 * The evidence of a score on the 0..1 scale above: log2(score / (1 - score)) held within
 * +-CD_CLUSTER_EVIDENCE_BITS, mapped linearly from -bound..+bound to 0..1, in whole steps
 * of 2^-32 (so that sums of up to 2^20 of them are exact, whatever their order).  Scores
 * are clamped to [0,1] first; NaN ("never compared") counts as 0.
 */
extern double cd_cluster_evidence(double score);

/*
 * Cluster n nodes (0..n-1).  Average-linkage agglomerative clustering: repeatedly merge
 * the two clusters with the highest average cross-pair evidence, among the pairs of
 * clusters with no cross pair scored below floor, while that average reaches the evidence
 * of threshold.  Among equal averages the pair whose smaller cluster label is smallest
 * wins, then the one whose other label is smallest, so the result is deterministic.
 *
 * labels[i] = the smallest node index of i's cluster (so labels[i] <= i, and
 * labels[labels[i]] == labels[i]).  Every cluster of more than one node has an average
 * internal pair evidence >= that of threshold - CD_CLUSTER_RESOLUTION (on the 0..1 scale
 * above) and no scored pair below floor; no two final clusters could still be merged.
 *
 * threshold NaN or above 1 (by more than CD_CLUSTER_RESOLUTION / 2): nothing merges;
 * threshold <= 0: everything merges that the floor allows; threshold 1: pairs whose
 * evidence averages the bound (scores of 0.999 or more).  floor <= 0 or NaN: no floor.
 *
 * Returns 0, or -1 when n < 0, n > CD_CLUSTER_MAX_NODES, scores or labels is NULL while
 * n > 0, or the allocator returned NULL; on -1 labels is not written.  n = 0 returns 0 and
 * writes nothing.  Scratch memory, about 9 n^2 / 2 bytes (18 MB at n = 2000), comes from al
 * when n > CD_CLUSTER_LOCAL_NODES and is released before returning.  Work is O(n^2) to
 * O(n^3) (every merge rescans only the rows whose best partner changed).  Measured at
 * n = 2000 (-O2): 40-120 ms for uniform, random, block and path scores; about 13 s for an
 * adversarial matrix where every merge moves every node's best partner.  Callers pass one
 * connected component at a time, usually 2-10 nodes.
 */
extern int	cd_cluster_average_linkage(int n, const double *scores, double threshold,
									   double floor, const CdAllocator *al, int *labels);

/*
 * Index of the best record of the cluster labelled cluster_label: the member with the
 * highest average evidence (read as above) to the other members, ties broken by the
 * smallest index; a singleton is its own center.  Returns -1 when no labels[i] equals
 * cluster_label (or n <= 0).  O(n m) for a cluster of m members; allocates nothing.
 */
extern int	cd_cluster_center(int n, const double *scores, const int *labels,
							  int cluster_label);

/*
 * Connected components of n nodes (0..n-1) joined by m edges a[k] - b[k]: labels[i] = the
 * smallest node index of i's component.  Union-find that always hangs the larger root
 * under the smaller, with path halving, so a parent's index is always below its child's
 * and one final pass in index order resolves every label; no memory beyond labels.  About
 * O((n + m) log n) in the worst case.  Edges naming a node outside 0..n-1 are ignored.
 * Returns 0, or -1 when n < 0, m < 0, labels is NULL while n > 0, or a or b is NULL while
 * m > 0; on -1 labels is not written.  Reports use it for the components of the pairs
 * above the clustering threshold (a million records or more), before clustering each one.
 */
extern int	cd_components(int n, int m, const int *a, const int *b, int *labels);

/*
 * The same in steps, for edges that come in batches (no array of all of them):
 * cd_components(n, 0, NULL, NULL, labels) starts, cd_components_add() joins a batch of
 * edges (labels is then a forest, not yet the final labels; the result does not depend on
 * how the edges are split into batches), cd_components_finish() gives the final labels.
 * Labels that are already final may be added to again.  Both return 0, or -1 on the
 * arguments cd_components() refuses (labels is then not written).
 */
extern int	cd_components_add(int n, int m, const int *a, const int *b, int *labels);
extern int	cd_components_finish(int n, int *labels);

#endif							/* CD_CLUSTER_H */
