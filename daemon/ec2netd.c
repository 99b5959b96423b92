/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netd: keeps the kernel in step with IMDS as ENIs and addresses come and go (design.md §4).
 * One thread, one sd-event loop; the passes are the library's (lib/pass.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "build-config.h"
#include "config.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "log.h"
#include "manager.h"
#include "notify.h"

#define EXIT_USAGE 2

static void help(void)
{
	printf("ec2netd [OPTIONS]\n\n"
	       "Configure the network of an EC2 instance from IMDS, and keep it so.\n\n"
	       "  -h --help                    show this help\n"
	       "     --version                 show the version\n"
	       "     --config FILE             the configuration file (default %s)\n"
	       "     --imds-endpoint URL       the IMDS endpoint to use\n"
	       "     --state-dir DIR           lock and state file (default %s)\n"
	       "     --uevent-source SOURCE    auto, udev or kernel (default auto)\n"
	       "     --log-level LEVEL         err, warning, notice, info, debug\n"
	       "     --refresh SEC             re-read IMDS every SEC seconds (0: never)\n",
	       EC2NET_CONF_FILE, EC2NET_RUN_DIR);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;

	if (si->ssi_signo == SIGHUP) {
		log_info("Reloading (SIGHUP)");
		manager_reload(m);
		return 0;
	}
	log_info("Stopping (%s), leaving the network as it is", strsignal((int)si->ssi_signo));
	notify_stopping();
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int load_config(const char *file, struct config *c)
{
	struct diag_list diags = {0};
	int r;

	r = config_init(c);
	if (r < 0)
		return log_error_errno(r, "Out of memory");
	r = config_load(c, NULL, file, &diags);
	for (size_t i = 0; i < diags.n; i++)
		log_error("%s: %s", diags.items[i].where, diags.items[i].what);
	if (r < 0 && diags.n == 0)
		log_error("Failed to load the configuration: %s", STRERROR(r));
	diag_list_done(&diags);
	return r;
}

int main(int argc, char *argv[])
{
	enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_IMDS, ARG_STATE, ARG_UEVENT, ARG_LOG,
	       ARG_REFRESH };
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"config", required_argument, NULL, ARG_CONFIG},
		{"imds-endpoint", required_argument, NULL, ARG_IMDS},
		{"state-dir", required_argument, NULL, ARG_STATE},
		{"uevent-source", required_argument, NULL, ARG_UEVENT},
		{"log-level", required_argument, NULL, ARG_LOG},
		{"refresh", required_argument, NULL, ARG_REFRESH},
		{0},
	};
	struct manager_options o = {.state_dir = EC2NET_RUN_DIR, .refresh_usec = -1};
	struct config config = {0};
	struct manager *m = NULL;
	sd_event *e = NULL;
	sigset_t mask;
	int c, r, level;
	char *end;
	double sec;

	(void)log_journal_from_env();

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("ec2netd %s\n", PACKAGE_VERSION);
			return 0;
		case ARG_CONFIG:
			o.config_file = optarg;
			break;
		case ARG_IMDS:
			o.imds_endpoint = optarg;
			break;
		case ARG_STATE:
			o.state_dir = optarg;
			break;
		case ARG_UEVENT:
			o.uevent_source = uevent_source_from_string(optarg);
			if (o.uevent_source < 0) {
				log_error("Invalid uevent source '%s' (auto, udev or kernel)",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case ARG_LOG:
			level = log_level_from_string(optarg);
			if (level < 0) {
				log_error("Invalid log level '%s'", optarg);
				return EXIT_USAGE;
			}
			log_set_max_level(level);
			break;
		case ARG_REFRESH:
			errno = 0;
			sec = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(sec >= 0) || sec > 86400.0 * 365) {
				log_error("Invalid refresh interval '%s'", optarg);
				return EXIT_USAGE;
			}
			o.refresh_usec = (int64_t)(sec * USEC_PER_SEC);
			break;
		default:
			return EXIT_USAGE;
		}
	if (optind < argc) {
		log_error("Unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}

	if (load_config(o.config_file, &config) < 0)
		return EXIT_FAILURE;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&e);
	if (r < 0) {
		log_error("Failed to create the event loop: %s", STRERROR(r));
		config_done(&config);
		return EXIT_FAILURE;
	}
	r = manager_new(e, &o, &config, &m);
	config_done(&config);
	if (r < 0)
		goto finish;
	r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, m);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGINT, on_signal, m);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGHUP, on_signal, m);
	if (r < 0) {
		log_error("Failed to watch signals: %s", STRERROR(r));
		goto finish;
	}
	/* WATCHDOG=1 from the loop when the service manager asks for it. */
	(void)sd_event_set_watchdog(e, true);
	r = manager_start(m);
	if (r < 0)
		goto finish;
	r = sd_event_loop(e);
	if (r < 0)
		log_error("Event loop failed: %s", STRERROR(r));
finish:
	manager_free(m);
	sd_event_unref(e);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
