# cfimap run examples/inbox-report.cfm --server … --username …
# One connection for the whole script: the server, user and password come from
# cfimap run's flags, the environment or a profile, as for any action.
<cfimap action="open" connection="mail">
<cfimap action="listAllFolders" connection="mail" name="folders">
<cfimap action="getHeaderOnly" connection="mail" folder="INBOX" name="unread">
  <cfimapfilter name="flag" value="unseen">
</cfimap>
<cfimap action="getHeaderOnly" connection="mail" folder="INBOX" maxRows="2" newest="yes" name="latest">
<cfimap action="close" connection="mail">
