# bash completion for smpfota (installed by `make install` as
# PREFIX/share/bash-completion/completions/smpfota; or: source tools/smpfota.bash).
# Commands and subcommands; each command's options from its own --help; files where a
# command takes a file. tests/python/test_cli_install.py checks it against
# `smpfota --help`.

_smpfota_global_opts="--conn --ip --port --baudrate --timeout --json --help --version"

_smpfota_subs() {
	case "$1" in
	image) echo "list upload test confirm erase slot-info info" ;;
	stat) echo "list read" ;;
	datetime) echo "get set" ;;
	shell) echo "exec" ;;
	fs) echo "upload download stat hash" ;;
	bootloader) echo "info" ;;
	esac
}

# A command's options: the ones its own help lists (`smpfota COMMAND --help`), so that the
# completion never drifts from the binary being completed.
_smpfota_opts() {
	local exe=$1
	shift
	"$exe" "$@" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

_smpfota() {
	local cur prev words cword
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	# the command words so far, options and their values left out
	local cmd="" sub="" i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case "$w" in
		--conn | --ip | --port | --baudrate | --timeout | --key) ((i++)) ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=$w
			elif [ -z "$sub" ] && [ -n "$(_smpfota_subs "$cmd")" ]; then
				sub=$w
			fi
			;;
		esac
	done
	case "$prev" in
	--port | --flash | --primary | --primary-net | --image | --key | --fs | --pty-link)
		# a file (or a number for update/upload --image: a digit completes nothing)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--conn) COMPREPLY=($(compgen -W "udp:127.0.0.1 udp: serial:/dev/" -- "$cur")); return ;;
	--scenario) COMPREPLY=($(compgen -W "internal qspi radio" -- "$cur")); return ;;
	--link) COMPREPLY=($(compgen -W "esb ble" -- "$cur")); return ;;
	esac
	if [ -z "$cmd" ]; then
		if [[ "$cur" == -* ]]; then
			COMPREPLY=($(compgen -W "$_smpfota_global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "image reset echo params info bootloader update stat
				taskstat mpstat datetime shell fs target sim keygen version help" -- "$cur"))
		fi
		return
	fi
	local subs
	subs=$(_smpfota_subs "$cmd")
	if [ -n "$subs" ] && [ -z "$sub" ]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
		return
	fi
	local key=$cmd
	[ -n "$sub" ] && key="$cmd $sub"
	if [[ "$cur" == -* ]]; then
		# shellcheck disable=SC2086 # key is one or two words
		COMPREPLY=($(compgen -W "$(_smpfota_opts "${COMP_WORDS[0]}" $key) $_smpfota_global_opts" \
			-- "$cur"))
		return
	fi
	case "$key" in
	"image upload" | "image info" | update | "fs upload" | keygen | "fs download")
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	help) COMPREPLY=($(compgen -W "image reset echo params info bootloader update stat taskstat
		mpstat datetime shell fs target sim keygen version" -- "$cur")) ;;
	esac
}
complete -o filenames -o bashdefault -F _smpfota smpfota
