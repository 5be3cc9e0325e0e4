# sheaf-cluster on several hosts made on this machine (network namespaces with their own
# hostnames, addresses on a private bridge and sshds: cluster.sh): word count across three
# hosts and a host that dies mid-step. They skip unless run as root.
HOSTS_TESTS = tests/hosts/hosts.sh
TESTS += $(HOSTS_TESTS)
EXTRA_DIST += $(HOSTS_TESTS) tests/hosts/cluster.sh
