"""What pages read and show: the dashboard, the ticket list and page, drill-downs and charts."""
