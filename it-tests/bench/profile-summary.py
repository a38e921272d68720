#!/usr/bin/env python3
"""Microseconds of CPU per request in a profile written by profile.sh.

    profile-summary.py out.collapsed [frame-regex[!excluded-regex] ...]

With no pattern: the whole process and its top self frames. A pattern counts every sample with a
frame it matches (inclusive time); after '!', samples where the excluded pattern appears deeper
than the match are left out (e.g. 'RateLimitFilter.filter!Settlement': the filter without the
call it makes).
"""
import collections
import re
import sys

path = sys.argv[1]
requests = int(open(re.sub(r'\.collapsed$', '', path) + '.requests').read().strip())
stacks = []
for line in open(path):
    frames, count = line.rstrip().rsplit(' ', 1)
    stacks.append((frames.split(';'), int(count)))
per_request = lambda samples: samples * 1000.0 / requests  # 1 ms interval: a sample is 1 ms of CPU
total = sum(n for _, n in stacks)
print('%8.2f us  the whole process (%d requests)' % (per_request(total), requests))
if len(sys.argv) == 2:
    top = collections.Counter()
    for frames, n in stacks:
        top[frames[-1]] += n
    for frame, n in top.most_common(25):
        print('%8.2f us  self  %s' % (per_request(n), frame))
for arg in sys.argv[2:]:
    pattern, _, excluded = arg.partition('!')
    samples = 0
    for frames, n in stacks:
        hits = [i for i, f in enumerate(frames) if re.search(pattern, f)]
        if not hits:
            continue
        if excluded and any(re.search(excluded, f) for f in frames[hits[0] + 1:]):
            continue
        samples += n
    print('%8.2f us  %s' % (per_request(samples), arg))
