// Command etcd runs the etcd server from go.etcd.io/etcd/server/v3 at the
// version that go.mod resolves, the one k8s.io/kubernetes pins for its etcd
// client. For v1.37.2 that is 3.7.0, the version hack/lib/etcd.sh in
// k8s.io/kubernetes starts for the upstream integration tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
