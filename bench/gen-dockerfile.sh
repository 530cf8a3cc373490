#!/usr/bin/env bash
# Print a synthetic Dockerfile of about N lines (default 10000) that uses
# every common form: global ARGs, stages, ENV with references, RUN with
# continuations, COPY/ADD, LABEL, heredocs, JSON forms.
n=${1:-10000}
echo "# syntax=docker/dockerfile:1"
echo "ARG BASE=debian:12"
echo "ARG VERSION=1.2.3"
lines=3
stage=0
while [ "$lines" -lt "$n" ]; do
    cat <<DF
FROM \${BASE} AS stage$stage
ARG VERSION
ENV APP_HOME=/opt/app$stage PATH=/opt/app$stage/bin:\$PATH VERSION=\${VERSION:-0}
LABEL org.example.stage="stage$stage" org.example.version="\${VERSION}"
WORKDIR \$APP_HOME
COPY --chown=1000:1000 src/ \${APP_HOME}/src/
RUN set -eux; \\
    apt-get update; \\
    apt-get install -y --no-install-recommends ca-certificates curl; \\
    rm -rf /var/lib/apt/lists/*
RUN <<EOF
echo "building stage $stage"
make -C \$APP_HOME
EOF
COPY <<CONF \${APP_HOME}/app.conf
name=stage$stage
home=\${APP_HOME}
CONF
EXPOSE 80$((stage % 10)) 9000/udp
USER app:app
ENTRYPOINT ["/opt/app$stage/bin/app", "--config", "/opt/app$stage/app.conf"]
CMD ["--verbose"]
DF
    lines=$((lines + 22))
    stage=$((stage + 1))
done
