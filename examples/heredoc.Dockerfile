# syntax=docker/dockerfile:1
# A Dockerfile that uses heredocs and line continuations.
ARG BASE=busybox
FROM ${BASE} AS base
RUN <<EOF
echo "building"
mkdir -p /app
EOF
COPY <<-CONF /app/app.conf
	name=demo
	level=${LEVEL:-info}
	CONF
RUN set -e; \
    # comments inside a continuation are dropped
    echo one; \
    echo two
FROM base
ENV GREETING="hello world" \
    TARGET=kiln
CMD ["sh", "-c", "echo $GREETING from $TARGET"]
