##! TEST STAND-IN: a shortened copy of the local.zeek layout Zeek installs in share/zeek/site.
##! Local site policy. Customize as appropriate.

# Installs a filter for loaded-scripts.log.
@load misc/loaded-scripts

# Apply the default tuning scripts for common tuning settings.
@load tuning/defaults

# Estimate and log capture loss.
@load misc/capture-loss

# Enable logging of memory, packet and lag statistics.
@load misc/stats
