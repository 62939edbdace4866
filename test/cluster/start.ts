// Starts a test cluster (CRDs installed) and keeps it up until Ctrl-C, for trying things by hand:
//   node test/cluster/start.ts   → prints the kubeconfig to use (contexts admin, alice, bob)
import { startCluster } from "./index.ts";

const cluster = await startCluster({ crds: true, private: true });
console.log(`kube-apiserver ${cluster.server} is ready; Ctrl-C stops it.
export KUBECONFIG=${cluster.kubeconfigPath}   # contexts: admin (current), alice, bob`);

const stop = (): void => {
  void cluster.stop().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
setInterval(() => undefined, 60_000); // stay up
