#!/usr/bin/env python3
"""bench/quality_em.py: replay crmdedup.estimate()'s EM and the record scorer offline on the
comparison vectors bench/quality_em.sql exports, with variants of the model, and print pairwise
precision, recall and F1 against the answers at the default threshold (and at the best threshold,
chosen on the answers).  An experiment bench for issue 3 (Fodors-Zagat's restaurants of one hotel:
"same place, different entity"); not a test, and not the extension: numbers from here are a
replay (it reproduces bench/quality's default F1 of the exported datasets to about 0.003: the
term-frequency u of phones and mailboxes is read from the explanation, not recomputed; patstat's
pairs within a star are not replayed).  The levels replayed are the default levels of before
2026-11-27 09:05: the variant {"unrelated": 0.35, "cond": ["phone", "city", "postcode"]} is the
model landed then, {} the one before.

    python3 bench/quality_em.py EXPORT.jsonl [VARIANT ...]

A VARIANT is a JSON object (default: the list below); its keys:
  "unrelated": T   the company / person-name field's "different" level is split: similarity >= T
                   stays "different" ("little in common"), below T is the new last level
                   ("unrelated"; default m 0.02, u the rest), estimated like the others
  "cond": [roles]  when the address reached its top level, a field of one of these roles at its top
                   level takes as u at least the share, among estimate()'s candidate pairs at the
                   same address with an unrelated name, of those also agreeing on that field (the
                   dependence of place fields among different entities at one place), in EM and
                   in the score; needs "unrelated"
  "block": [roles] in EM's E step only the strongest agreement of these fields counts (full
                   dependence), disagreements all count
  "fixed_u": 1     EM over the candidates takes u as the candidates' own level shares and keeps it
                   (the SQL starts from the random pairs' u and re-estimates it among the candidates)
  "cond_score_only": 1  "cond" in the score only, not in EM
  "oracle": 1      no EM: m from the answers (the true pairs among bench/quality's candidates), u from
                   the random pairs, the prior the true share of duplicate pairs: what an
                   independent-fields model could reach with the right m (CHOSEN ON THE ANSWERS)
  "three": 1       three classes in EM (duplicate, same place other entity, unrelated; place roles
                   start like duplicates, the others like unrelated) and a score of the duplicate
                   class against both others
"""
import collections
import json
import math
import sys

PLACE = ('address', 'phone', 'city', 'postcode')
NAMES = ('company', 'person_name')


def load(path):
    head, pairs = {}, collections.defaultdict(lambda: collections.defaultdict(list))
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line.startswith('{'):
                continue
            o = json.loads(line)
            if o.get('head'):
                head[o['ds']] = o
            else:
                pairs[o['ds']][o['k']].append((o['t'], o['f']))
    return head, pairs


class Model:
    def __init__(self, head, variant):
        self.v = variant
        self.fields = []		# (role, [(name, min, m0, u0, tf)])
        for f in head['spec_fields']:
            # the levels before 2026-11-27 09:05 ("little in common" is the variant "unrelated")
            lv = [(l['level'], l['min'], l['m'], l['u'], bool(l.get('tf'))) for l in f['levels']
                  if l['level'] != 'little in common']
            if 'unrelated' in variant and f['role'] in NAMES:
                lv.append(('little in common', variant['unrelated'], 0.06, 0.15, False))
            self.fields.append((f['role'], lv))
        self.roles = [r for r, _ in self.fields]

    def vec(self, f):
        out = []
        for (role, lv), x in zip(self.fields, f):
            r, level, sim, u = x[:4]
            assert role == r, (role, r)
            if len(x) > 4 and x[4]:
                level = None		# u was the field's u_same_place: its term-frequency u is unknown
            if level == 'missing':
                out.append((-1, None))
                continue
            li = len(lv)
            for i, l in enumerate(lv):
                if sim >= l[1]:
                    li = i
                    break
            tfu = u if li < len(lv) and lv[li][4] and level == lv[li][0] else None
            out.append((li, tfu))
        return out


def run(head, pairs, variant):
    md = Model(head, variant)
    nf = len(md.fields)
    cand = [md.vec(f) for _, f in pairs['cand']]
    rand = [md.vec(f) for _, f in pairs['rand']]
    bench = [(md.vec(f), t) for t, f in pairs['bench']]
    nrows, ntrue = head['rows'], head['true_pairs']
    all_pairs = nrows * (nrows - 1) / 2
    ncand, nrand = len(cand), len(rand)
    m0 = [[l[2] for l in lv] + [max(0.01, 1 - sum(l[2] for l in lv))] for _, lv in md.fields]
    u0 = [[l[3] for l in lv] + [max(0.01, 1 - sum(l[3] for l in lv))] for _, lv in md.fields]
    nl = [len(x) for x in m0]

    def shares(vs):
        cnt = [[0] * nl[fi] for fi in range(nf)]
        for v in vs:
            for fi, (li, _) in enumerate(v):
                if li >= 0:
                    cnt[fi][li] += 1
        return [[c / max(1, sum(cs)) for c in cs] for cs in cnt]
    floor = [[min(u0[fi][li], 1 / nrand) for li in range(nl[fi])] for fi in range(nf)]
    urand = [[max(x, floor[fi][li]) for li, x in enumerate(r)] for fi, r in enumerate(shares(rand))]
    u = [r[:] for r in urand]
    if variant.get('fixed_u'):
        u = [[max(x, floor[fi][li]) for li, x in enumerate(r)] for fi, r in enumerate(shares(cand))]
    m = [r[:] for r in m0]

    # "cond": P(field agrees | same address, unrelated names) among estimate()'s candidates
    cond = {}
    if variant.get('cond') and 'address' in md.roles:
        ia = md.roles.index('address')
        names = [i for i, r in enumerate(md.roles) if r in NAMES]
        for fi, r in enumerate(md.roles):
            if r not in variant['cond'] or not names:
                continue
            sel = [v for v in cand if v[ia][0] == 0 and v[fi][0] >= 0
                   and all(v[n][0] == nl[n] - 1 for n in names)]
            if sel:
                cond[fi] = sum(1 for v in sel if v[fi][0] == 0) / len(sel)

    def correction(key, uu, nat):
        """log u - log m correction of a pattern for the conditional u (natural log if nat)"""
        if not cond or key[md.roles.index('address')] != 0:
            return 0.0
        lg = math.log if nat else math.log2
        return sum(lg(c) - lg(uu[fi][0]) for fi, c in cond.items() if key[fi] == 0 and c > uu[fi][0])

    cc = collections.Counter(tuple(li for li, _ in v) for v in cand)
    if variant.get('oracle'):
        cnt = [[0.5] * nl[fi] for fi in range(nf)]
        for v, t in bench:
            for fi, (li, _) in enumerate(v):
                if t and li >= 0:
                    cnt[fi][li] += 1
        m = [[c / sum(r) for c in r] for r in cnt]
        prior = ntrue / all_pairs
        return score(md, bench, m, urand, prior, cond, ntrue, head, correction)
    if variant.get('three'):
        return run_three(md, head, cc, bench, m0, urand, ncand, all_pairs, ntrue)
    lam = 0.1
    for _ in range(200):
        sm = [[0.0] * nl[fi] for fi in range(nf)]
        su = [[0.0] * nl[fi] for fi in range(nf)]
        tw = tn = 0.0
        for key, n in cc.items():
            s = 0.0
            strongest = []
            for fi, li in enumerate(key):
                if li < 0:
                    continue
                t = math.log(u[fi][li]) - math.log(m[fi][li])
                if md.roles[fi] in variant.get('block', ()) and t < 0:
                    strongest.append(t)
                else:
                    s += t
            if strongest:
                s += min(strongest)
            if not variant.get("cond_score_only"): s += correction(key, u, True)
            w = 1 / (1 + (1 - lam) / lam * math.exp(max(-700, min(700, s))))
            tw += n * w
            tn += n
            for fi, li in enumerate(key):
                if li >= 0:
                    sm[fi][li] += n * w
                    su[fi][li] += n * (1 - w)
        lam_new = tw / tn
        for fi in range(nf):
            tm, tu = sum(sm[fi]), sum(su[fi])
            for li in range(nl[fi]):
                m[fi][li] = max(1e-6, (sm[fi][li] + m0[fi][li]) / (tm + 1))
                if not variant.get('fixed_u'):
                    u[fi][li] = max(1e-9, (su[fi][li] + u[fi][li]) / (tu + 1))
        delta = abs(lam_new - lam)
        lam = min(0.999, max(1e-9, lam_new))
        if delta < 1e-7:
            break
    # the random pairs' duplicate share and u (term-frequency u to a quarter of a bit, as the SQL)
    ur = [r[:] for r in urand]
    lam_r = min(0.5, max(1e-9, lam * ncand / all_pairs))
    rc = collections.Counter(tuple((li, None if t is None else round(4 * math.log2(t)) / 4) for li, t in v)
                             for v in rand)
    for _ in range(200):
        su = [[0.0] * nl[fi] for fi in range(nf)]
        tw = tn = 0.0
        for key, n in rc.items():
            s = sum(math.log(2 ** tq if tq is not None else ur[fi][li]) - math.log(m[fi][li])
                    for fi, (li, tq) in enumerate(key) if li >= 0)
            w = 1 / (1 + (1 - lam_r) / lam_r * math.exp(max(-700, min(700, s))))
            tw += n * w
            tn += n
            for fi, (li, _) in enumerate(key):
                if li >= 0:
                    su[fi][li] += n * (1 - w)
        lam_new = min(0.5, max(1e-9, tw / tn))
        for fi in range(nf):
            tu = sum(su[fi])
            if tu > 0:
                ur[fi] = [max(su[fi][li] / tu, floor[fi][li]) for li in range(nl[fi])]
        delta = abs(lam_new - lam_r)
        lam_r = lam_new
        if delta < 1e-9:
            break
    prior = min(0.5, max(1e-9, lam * ncand / all_pairs, lam_r))
    for fi in range(nf):
        k = nl[fi] - 1
        smm, suu = sum(m[fi][:k]), sum(ur[fi][:k])
        for li in range(k):
            m[fi][li] /= max(1, smm / 0.999)
            ur[fi][li] /= max(1, suu / 0.999)
        m[fi][k] = 1 - sum(m[fi][:k])
        ur[fi][k] = 1 - sum(ur[fi][:k])
    return score(md, bench, m, ur, prior, cond, ntrue, head, correction)


def score(md, bench, m, ur, prior, cond, ntrue, head, correction):
    nf, nl = len(md.fields), [len(r) for r in m]
    res = []
    for v, t in bench:
        wsum = math.log2(prior / (1 - prior))
        for fi, (li, tfu) in enumerate(v):
            if li < 0:
                continue
            uu = ur[fi][li]
            if tfu is not None:
                uu = max(uu, tfu) if md.roles[fi] in ('phone', 'email') else tfu
            wsum += math.log2(m[fi][li] / uu)
        wsum -= correction(tuple(li for li, _ in v), ur, False)
        res.append((wsum, t))
    weights = {md.roles[fi]: [round(math.log2(m[fi][li] / ur[fi][li]), 1) for li in range(nl[fi])]
               for fi in range(nf)}
    return evaluate(res, ntrue, head['same']), {'prior': prior, 'cond': {md.roles[k]: round(c, 3) for k, c in cond.items()},
                                                 'bits': weights}


def run_three(md, head, cc, bench, m0, urand, ncand, all_pairs, ntrue):
    nf = len(md.fields)
    start = {'D': m0, 'U': urand, 'P': [m0[fi] if md.roles[fi] in PLACE else urand[fi] for fi in range(nf)]}
    th = {k: [r[:] for r in start[k]] for k in start}
    pi = {'D': 0.1, 'P': 0.05, 'U': 0.85}
    for _ in range(300):
        acc = {k: [[0.0] * len(r) for r in m0] for k in th}
        tot = {k: 0.0 for k in th}
        for key, n in cc.items():
            lp = {k: math.log(pi[k]) + sum(math.log(th[k][fi][li]) for fi, li in enumerate(key) if li >= 0)
                  for k in th}
            mx = max(lp.values())
            z = sum(math.exp(x - mx) for x in lp.values())
            for k in th:
                w = math.exp(lp[k] - mx) / z
                tot[k] += n * w
                for fi, li in enumerate(key):
                    if li >= 0:
                        acc[k][fi][li] += n * w
        new = {k: tot[k] / sum(tot.values()) for k in th}
        for k in th:
            for fi in range(nf):
                t = sum(acc[k][fi])
                th[k][fi] = [max(1e-6, (acc[k][fi][li] + start[k][fi][li]) / (t + 1)) for li in range(len(m0[fi]))]
        delta = max(abs(new[k] - pi[k]) for k in th)
        pi = new
        if delta < 1e-7:
            break
    pd, pp = pi['D'] * ncand / all_pairs, pi['P'] * ncand / all_pairs
    res = []
    for v, t in bench:
        ld, lpl, lu = math.log2(pd), math.log2(pp), math.log2(1 - pd - pp)
        for fi, (li, tfu) in enumerate(v):
            if li < 0:
                continue
            uu = urand[fi][li]
            if tfu is not None:
                uu = max(uu, tfu) if md.roles[fi] in ('phone', 'email') else tfu
            ld += math.log2(th['D'][fi][li])
            lu += math.log2(uu)
            lpl += math.log2(th['P'][fi][li])
        mx = max(lpl, lu)
        res.append((ld - (mx + math.log2(2 ** (lpl - mx) + 2 ** (lu - mx))), t))
    return evaluate(res, ntrue, head['same']), {'classes': {k: round(x, 4) for k, x in pi.items()}}


def evaluate(res, ntrue, same):
    def prf(th):
        tp = sum(1 for w, t in res if w >= th and t)
        pp = sum(1 for w, _ in res if w >= th)
        return tp / max(pp, 1), tp / ntrue, 2 * tp / (pp + ntrue)
    best = max((prf(g)[2], g) for g in range(-30, 41))
    return prf(math.log2(same / (1 - same))) + best


DEFAULT_VARIANTS = [
    {},
    {'unrelated': 0.001},
    {'unrelated': 0.2},
    {'fixed_u': 1, 'unrelated': 0.001},
    {'unrelated': 0.001, 'cond': ['phone']},
    {'unrelated': 0.2, 'cond': ['phone', 'city', 'postcode']},
    {'unrelated': 0.35, 'cond': ['phone', 'city', 'postcode']},
    {'fixed_u': 1, 'unrelated': 0.001, 'cond': ['phone']},
    {'unrelated': 0.001, 'cond': ['phone', 'city', 'postcode'], 'block': ['address', 'phone']},
    {'three': 1},
    {'three': 1, 'unrelated': 0.001},
]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    head, pairs = load(sys.argv[1])
    variants = [json.loads(a) for a in sys.argv[2:]] or DEFAULT_VARIANTS
    print('%-62s %-13s %5s %5s %5s  %s' % ('variant', 'dataset', 'P', 'R', 'F1', 'best F1 (bits)'))
    for v in variants:
        for ds in head:
            (p, r, f1, bf, bt), info = run(head[ds], pairs[ds], v)
            print('%-62s %-13s %.3f %.3f %.3f  %.3f (%d)  %s' % (json.dumps(v), ds[:13], p, r, f1, bf, bt,
                  json.dumps(info.get('cond') or info.get('classes') or '')), flush=True)


if __name__ == '__main__':
    main()
