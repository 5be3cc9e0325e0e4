# sheaf-cluster on several hosts made on this machine (network namespaces with their own
# hostnames, addresses on a private bridge and sshds: cluster.sh): word count across three
# hosts and a host that dies mid-step, on the hosts backend (hosts.sh) and on Slurm with one
# slurmd per host (slurm.sh). They skip unless run as root.
HOSTS_TESTS = tests/hosts/hosts.sh tests/hosts/slurm.sh
TESTS += $(HOSTS_TESTS)
EXTRA_DIST += $(HOSTS_TESTS) tests/hosts/cluster.sh tests/hosts/common.sh
