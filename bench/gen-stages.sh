#!/usr/bin/env bash
# Print a Dockerfile with N stages (default 1000) in the seed's shape: a
# builder alias chosen by a global ARG, a chain of FROM edges, and COPY
# --from edges to earlier stages, so `kiln plan` resolves a real graph.
n=${1:-1000}
echo "ARG BUILDER_IMAGE=local_builder"
echo "ARG BASE=debian:12"
echo "FROM \${BASE} AS local_builder"
echo "RUN make"
echo "FROM \${BUILDER_IMAGE} AS builder"
for i in $(seq 2 $((n - 1))); do
    prev=s$((i - 1))
    [ "$i" -eq 2 ] && prev=builder
    if [ $((i % 10)) -eq 0 ]; then
        echo "FROM \${BASE} AS s$i"
    else
        echo "FROM $prev AS s$i"
    fi
    echo "COPY --from=builder /out/app /usr/local/bin/app$i"
    echo "COPY --from=$prev /etc/hostname /etc/h$i"
    echo "RUN --mount=type=cache,target=/c,from=builder true"
done
