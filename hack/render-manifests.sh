#!/usr/bin/env bash
# hack/render-manifests.sh - fill the deploy/*.yaml.in templates and print the
# manifests for `kubectl apply -f -`.
#
#   DNS_DOMAIN=cluster.local DNS_SERVER_IP=10.96.0.10 DNS_REPLICAS=2 \
#     hack/render-manifests.sh | kubectl apply -f -
#   hack/render-manifests.sh --domain cluster.local --server-ip 10.96.0.10 --replicas 2
#
# Every value is checked before anything is printed: on a missing or
# malformed value the script prints why on stderr, nothing on stdout, and
# exits 1 (2 for a bad command line). Runs on bash 3.2 (macOS) and later.
set -euo pipefail

VERSION=0.1.0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TEMPLATES=${SKYDNS_DEPLOY_DIR:-$ROOT/deploy}

usage() {
	cat <<EOF
usage: $(basename "$0") [options]   (each option can also come from its env var)

required:
  --domain D          DNS_DOMAIN      cluster domain, = kubelet --cluster-domain (e.g. cluster.local)
  --server-ip IP      DNS_SERVER_IP   kube-dns Service IP, = kubelet --cluster-dns (e.g. 10.96.0.10)
  --replicas N        DNS_REPLICAS    number of DNS pods, 1-100
optional:
  --nameservers LIST  DNS_NAMESERVERS upstream servers "IP:port,[IPv6]:port"
                                      (default: the node's /etc/resolv.conf)
  --skydns-image I    SKYDNS_IMAGE    default skydns:$VERSION
  --kube2sky-image I  KUBE2SKY_IMAGE  default kube2sky:$VERSION
  --etcd-image I      ETCD_IMAGE      default skydns-etcd:3.4
  -h, --help
EOF
}

die() { echo "render-manifests: $*" >&2; exit 1; }

# ipv4 STR: dotted quad, each part 0-255 without leading zeros.
is_ipv4() {
	local IFS=. parts p
	[[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
	read -ra parts <<<"$1"
	for p in "${parts[@]}"; do
		[[ $p == 0 || $p != 0* ]] || return 1
		((10#$p <= 255)) || return 1
	done
}

# ipv6 STR: RFC 4291 text form (hex groups, one "::" at most, optional
# dotted-quad tail); no zone index, no brackets.
is_ipv6() {
	local s=$1 head tail part n=0 g groups=()
	[[ $s =~ ^[0-9A-Fa-f:.]+$ && $s == *:* ]] || return 1
	if [[ $s == *.* ]]; then # embedded IPv4 counts as two groups
		is_ipv4 "${s##*:}" || return 1
		s="${s%:*}:0:0"
	fi
	if [[ $s == *::* ]]; then
		[[ ${s#*::} != *::* ]] || return 1
		head=${s%%::*} tail=${s#*::}
	else
		head=$s tail=
	fi
	for part in "$head" "$tail"; do
		[[ -z $part ]] && continue
		IFS=: read -ra groups <<<"$part"
		[[ $part != :* && $part != *: ]] || return 1
		for g in "${groups[@]}"; do
			[[ $g =~ ^[0-9A-Fa-f]{1,4}$ ]] || return 1
			n=$((n + 1))
		done
	done
	if [[ $s == *::* ]]; then ((n <= 7)); else ((n == 8)); fi
}

is_port() { [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && (($1 <= 65535)); }

check_domain() {
	local d=$1 label labels
	[[ -n $d ]] || die "DNS_DOMAIN is empty: give the cluster domain, e.g. cluster.local"
	[[ $d != *[A-Z]* ]] || die "DNS_DOMAIN '$d': use lower case"
	d=${d%.}
	((${#d} <= 253)) || die "DNS_DOMAIN '$1': longer than 253 characters"
	IFS=. read -ra labels <<<"$d"
	[[ $d != .* && $d != *..* && -n $d ]] || die "DNS_DOMAIN '$1': empty label"
	for label in "${labels[@]}"; do
		((${#label} <= 63)) || die "DNS_DOMAIN '$1': label '$label' is longer than 63 characters"
		[[ $label =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
			die "DNS_DOMAIN '$1': bad label '$label' (letters, digits and '-' only, not at either end)"
	done
}

check_server_ip() {
	local ip=$1
	[[ -n $ip ]] || die "DNS_SERVER_IP is empty: give the kube-dns Service IP (inside the service CIDR)"
	is_ipv4 "$ip" || is_ipv6 "$ip" || die "DNS_SERVER_IP '$ip' is not an IPv4 or IPv6 address"
	[[ $ip != 0.0.0.0 && $ip != :: ]] || die "DNS_SERVER_IP '$ip' is the unspecified address"
}

check_replicas() {
	[[ -n $1 ]] || die "DNS_REPLICAS is empty: give the number of DNS pods (2 or more recommended)"
	[[ $1 =~ ^[0-9]+$ ]] || die "DNS_REPLICAS '$1' is not a number"
	if ! [[ $1 =~ ^[1-9][0-9]{0,2}$ ]] || (($1 > 100)); then
		die "DNS_REPLICAS '$1' must be between 1 and 100"
	fi
}

check_nameservers() {
	local ns list host port
	[[ -n $1 ]] || return 0
	IFS=, read -ra list <<<"$1"
	[[ $1 != *, && $1 != ,* && $1 != *,,* ]] || die "DNS_NAMESERVERS '$1': empty entry"
	for ns in "${list[@]}"; do
		if [[ $ns =~ ^\[([^]]+)\]:([0-9]+)$ ]]; then
			host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
			is_ipv6 "$host" && is_port "$port" && continue
		elif [[ $ns =~ ^([0-9.]+):([0-9]+)$ ]]; then
			host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
			is_ipv4 "$host" && is_port "$port" && continue
		fi
		die "DNS_NAMESERVERS: '$ns' is not IPv4:port or [IPv6]:port (e.g. 8.8.8.8:53, [2001:4860:4860::8888]:53)"
	done
}

# Image references as the container runtime parses them: registry[:port]/path:tag[@digest].
check_image() {
	local re='^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$'
	[[ -n $2 ]] || die "$1 is empty"
	[[ $2 =~ $re ]] || die "$1 '$2' is not an image reference (e.g. registry.example.com/dns/skydns:$VERSION)"
}

main() {
	local domain=${DNS_DOMAIN-} ip=${DNS_SERVER_IP-} replicas=${DNS_REPLICAS-}
	local nameservers=${DNS_NAMESERVERS-}
	local skydns_image=${SKYDNS_IMAGE:-skydns:$VERSION}
	local kube2sky_image=${KUBE2SKY_IMAGE:-kube2sky:$VERSION}
	local etcd_image=${ETCD_IMAGE:-skydns-etcd:3.4}
	while (($#)); do
		case $1 in
		-h | --help) usage; exit 0 ;;
		--domain | --server-ip | --replicas | --nameservers | --skydns-image | --kube2sky-image | --etcd-image)
			(($# >= 2)) || { echo "render-manifests: $1 needs a value" >&2; usage >&2; exit 2; }
			case $1 in
			--domain) domain=$2 ;;
			--server-ip) ip=$2 ;;
			--replicas) replicas=$2 ;;
			--nameservers) nameservers=$2 ;;
			--skydns-image) skydns_image=$2 ;;
			--kube2sky-image) kube2sky_image=$2 ;;
			--etcd-image) etcd_image=$2 ;;
			esac
			shift 2 ;;
		--*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
		*) echo "render-manifests: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
		esac
	done

	check_domain "$domain"
	check_server_ip "$ip"
	check_replicas "$replicas"
	check_nameservers "$nameservers"
	check_image SKYDNS_IMAGE "$skydns_image"
	check_image KUBE2SKY_IMAGE "$kube2sky_image"
	check_image ETCD_IMAGE "$etcd_image"
	domain=${domain%.}
	# Wildcard listen address in the Service IP's family (pod IPs follow it).
	local listen=0.0.0.0
	[[ $ip != *:* ]] || listen='[::]'

	local out="" f line n=0
	shopt -s nullglob
	for f in "$TEMPLATES"/*.yaml.in; do
		n=$((n + 1))
		out+="---"$'\n'"# Source: deploy/${f##*/}"$'\n'
		while IFS= read -r line || [[ -n $line ]]; do
			# A line carrying an optional value left empty is dropped whole
			# (e.g. "- -nameservers={DNS_NAMESERVERS}").
			[[ $line == *"{DNS_NAMESERVERS}"* && -z $nameservers ]] && continue
			line=${line//\{DNS_DOMAIN\}/$domain}
			line=${line//\{DNS_SERVER_IP\}/$ip}
			line=${line//\{DNS_REPLICAS\}/$replicas}
			line=${line//\{DNS_NAMESERVERS\}/$nameservers}
			line=${line//\{LISTEN_HOST\}/$listen}
			line=${line//\{SKYDNS_IMAGE\}/$skydns_image}
			line=${line//\{KUBE2SKY_IMAGE\}/$kube2sky_image}
			line=${line//\{ETCD_IMAGE\}/$etcd_image}
			out+=$line$'\n'
		done <"$f"
	done
	((n > 0)) || die "no templates (*.yaml.in) in $TEMPLATES"
	if [[ $out =~ \{[A-Z0-9_]+\} ]]; then
		die "template placeholder ${BASH_REMATCH[0]} has no value (templates newer than this script?)"
	fi
	printf '%s' "$out"
}

main "$@"
